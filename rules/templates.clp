;;; templates.clp: every template the engine and the rules share.
;;; These are fixed by rules/CONTRACT.md: never rename or remove a slot here
;;; without changing the C engine at the same time.

;;; ---- input: asserted by the engine for each assessment --------------------

(deftemplate patient
  (slot age (type INTEGER) (default -1))                 ; -1 = missing
  (slot pregnant (type SYMBOL) (allowed-symbols yes no unknown) (default unknown))
  (slot breastfeeding (type SYMBOL) (allowed-symbols yes no unknown) (default unknown))
  (slot fitzpatrick (type INTEGER) (default 0))          ; 0 = missing
  (slot area (type SYMBOL) (default unknown))            ; canonical area, unknown = missing
  (slot indication (type SYMBOL) (default unknown))      ; canonical indication, unknown = missing
  (slot setting (type SYMBOL) (allowed-symbols clinic home-roller home-rf) (default clinic))
  (slot needle-depth-mm (type NUMBER) (default -1.0)))   ; -1.0 = not given

(deftemplate condition
  (slot name (type SYMBOL))
  (slot days-ago (type INTEGER) (default -1)))           ; -1 = not given

(deftemplate medication
  (slot name (type SYMBOL))
  (slot class (type SYMBOL) (default none))
  (slot days-since-last-dose (type INTEGER) (default 0)))  ; 0 = taking now

(deftemplate procedure
  (slot name (type SYMBOL))
  (slot days-ago (type INTEGER) (default -1)))           ; -1 = not given

(deftemplate allergy
  (slot name (type SYMBOL)))

(deftemplate unrecognised
  (slot kind (type SYMBOL) (allowed-symbols condition medication procedure allergy))
  (slot name (type STRING))                              ; the raw term as sent
  (slot suggestion (type SYMBOL) (default nil)))         ; the nearest vocabulary name, nil = none

(deftemplate missing
  (slot fact (type SYMBOL)))   ; age pregnant breastfeeding fitzpatrick area indication

;;; ---- data: deffacts, asserted once at load, never changed by rules -------

(deftemplate source
  (slot key (type SYMBOL))
  (slot citation (type STRING))
  (slot weak (allowed-symbols yes no) (default no)))

(deftemplate term
  (slot kind (type SYMBOL) (allowed-symbols area indication condition medication procedure allergy setting))
  (slot name (type SYMBOL))
  (slot canonical (type SYMBOL))
  (slot class (type SYMBOL) (default none))
  (slot takes-days (type SYMBOL) (allowed-symbols yes no) (default no))
  (slot label (type STRING) (default "")))

(deftemplate policy
  (slot name (type SYMBOL))
  (slot value (type NUMBER))
  (slot unit (type STRING) (default ""))                 ; what value counts: days, years, mm, USD ...
  (slot description (type STRING) (default ""))
  (slot min (type NUMBER SYMBOL) (default nil))          ; a policy file's value must be >= min
  (slot max (type NUMBER SYMBOL) (default nil)))         ; and <= max; nil = no bound

;;; ---- output: read back by the engine after the run ------------------------

(deftemplate finding
  (slot id (type SYMBOL))
  (slot category (type SYMBOL) (allowed-symbols candidacy medication procedure side-effect home-use input))
  (slot severity (type SYMBOL) (allowed-symbols info caution incomplete defer refer contraindicated))
  (slot summary (type STRING))
  (slot detail (type STRING) (default ""))
  (slot source (type STRING))
  (slot action (type STRING) (default ""))
  (slot defer-days (type INTEGER SYMBOL) (default nil))
  (slot suggestion (type SYMBOL) (default nil)))           ; near-miss findings: the term meant

(deftemplate side-effect
  (slot effect (type STRING))
  (slot kind (type SYMBOL) (allowed-symbols expected serious))
  (slot likelihood (type SYMBOL) (allowed-symbols common uncommon rare))
  (slot note (type STRING) (default "")))

(deftemplate plan
  (slot sessions-min (type INTEGER)) (slot sessions-max (type INTEGER))
  (slot interval-weeks (type INTEGER)) (slot interval-weeks-max (type INTEGER))
  (slot cost-min (type INTEGER)) (slot cost-typical (type INTEGER)) (slot cost-max (type INTEGER)))

(deftemplate aftercare
  (slot order (type INTEGER))
  (slot text (type STRING)))
