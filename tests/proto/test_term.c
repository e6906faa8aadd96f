/*
 * test_term.c: the matcher's text rules (proto_term.h): normalising,
 * control characters, distances, budgets, the near-miss ranks and the
 * closest candidate.  The engine and `suit` both rely on these exact
 * answers (rules/README.md documents them for rule authors).
 */
#include <check.h>
#include <string.h>

#include "proto_term.h"
#include "testutil.h"

static void norm_is(const char *in, const char *want)
{
    char out[PROTO_TERM_MAX_LEN + 1];
    int n = proto_term_normalise(in, out, sizeof out);
    ck_assert_msg(n >= 0, "'%s' did not normalise", in);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(n, (int)strlen(want));
}

START_TEST(normalise_trims_and_folds)
{
    norm_is("isotretinoin", "isotretinoin");
    norm_is(" isotretinoin ", "isotretinoin");
    norm_is("   isotretinoin", "isotretinoin");
    norm_is("fish oil", "fish-oil");
    norm_is("fish_oil", "fish-oil");
    norm_is("fish  _ oil", "fish-oil");      /* one hyphen for a mixed run */
    norm_is("fish--oil", "fish-oil");
    norm_is("Fish_Oil ", "fish-oil");        /* ASCII case folded */
    norm_is("ST JOHNS WORT", "st-johns-wort");
    norm_is("\xc2\xa0retinol\xc2\xa0", "retinol");          /* no-break spaces trimmed */
    norm_is("vitamin\xc2\xa0" "e", "vitamin-e");             /* and folded inside */
    norm_is("_fish", "-fish");               /* only white space is trimmed */
    norm_is("cr\xc3\xa8me", "cr\xc3\xa8me"); /* non-ASCII bytes kept as they are */
    norm_is("\xc2\xa9 brand", "\xc2\xa9-brand");   /* 0xc2 not followed by 0xa0 */
}
END_TEST

START_TEST(normalise_refuses_empty_and_overlong)
{
    char out[8];
    ck_assert_int_eq(proto_term_normalise("", out, sizeof out), -1);
    ck_assert_int_eq(proto_term_normalise("    ", out, sizeof out), -1);
    ck_assert_int_eq(proto_term_normalise(" \xc2\xa0 ", out, sizeof out), -1);
    ck_assert_str_eq(out, "");
    /* 7 bytes fit in 8; 8 do not, and out is left empty */
    ck_assert_int_eq(proto_term_normalise("abcdefg", out, sizeof out), 7);
    ck_assert_int_eq(proto_term_normalise("abcdefgh", out, sizeof out), -1);
    ck_assert_str_eq(out, "");
    /* trailing spaces do not count against the room */
    ck_assert_int_eq(proto_term_normalise("abcdefg      ", out, sizeof out), 7);
    ck_assert_int_eq(proto_term_normalise("x", out, 0), -1);
    /* blank exactly when nothing is left */
    ck_assert(proto_term_blank(""));
    ck_assert(proto_term_blank("   "));
    ck_assert(proto_term_blank(" \xc2\xa0 "));
    ck_assert(!proto_term_blank(" _ "));
    ck_assert(!proto_term_blank("  x"));
    ck_assert(!proto_term_blank("\xc2\xa9"));
}
END_TEST

START_TEST(control_characters)
{
    ck_assert_int_eq(proto_term_control("isotretinoin", 12), -1);
    ck_assert_int_eq(proto_term_control("iso\ttretinoin", 13), 3);
    ck_assert_int_eq(proto_term_control("\n", 1), 0);
    ck_assert_int_eq(proto_term_control("ab\x7f", 3), 2);
    ck_assert_int_eq(proto_term_control("ab\xc2\x9f", 4), 2);        /* C1 U+009F */
    ck_assert_int_eq(proto_term_control("ab\xc2\xa0" "c", 5), -1);   /* U+00A0 is not */
    ck_assert_int_eq(proto_term_control("cr\xc3\xa8me", 6), -1);
    ck_assert_int_eq(proto_term_control("a\0b", 3), 1);              /* NUL too */
}
END_TEST

START_TEST(utf8_cut_on_character_boundary)
{
    ck_assert_uint_eq(proto_term_utf8_cut("abc", 3), 3);
    ck_assert_uint_eq(proto_term_utf8_cut("", 0), 0);
    /* "cr\xc3\xa8me": a cut after the lead byte of U+00E8 drops it */
    ck_assert_uint_eq(proto_term_utf8_cut("cr\xc3\xa8me", 3), 2);
    ck_assert_uint_eq(proto_term_utf8_cut("cr\xc3\xa8me", 4), 4);
    /* U+20AC (3 bytes) and U+1F600 (4 bytes) cut at every inner byte */
    ck_assert_uint_eq(proto_term_utf8_cut("x\xe2\x82\xac", 2), 1);
    ck_assert_uint_eq(proto_term_utf8_cut("x\xe2\x82\xac", 3), 1);
    ck_assert_uint_eq(proto_term_utf8_cut("x\xe2\x82\xac", 4), 4);
    ck_assert_uint_eq(proto_term_utf8_cut("x\xf0\x9f\x98\x80", 2), 1);
    ck_assert_uint_eq(proto_term_utf8_cut("x\xf0\x9f\x98\x80", 4), 1);
    ck_assert_uint_eq(proto_term_utf8_cut("x\xf0\x9f\x98\x80", 5), 5);
    ck_assert_uint_eq(proto_term_utf8_cut("\xf0\x9f\x98", 3), 0);
}
END_TEST

/* A message cut by the error buffer ends on a character boundary too. */
START_TEST(error_message_cut_on_character_boundary)
{
    char big[600];
    memset(big, 'a', 510);
    memcpy(big + 510, "\xc3\xa8\xc3\xa8", 4);   /* the buffer holds 511 bytes */
    big[514] = '\0';
    struct proto_error e;
    proto_error_init(&e);
    proto_error_set(&e, PROTO_E_INVALID_PARAMS, "%s", big);
    ck_assert_uint_eq(strlen(e.message), 510);
    proto_error_close(&e);
}
END_TEST

START_TEST(distances)
{
    ck_assert_uint_eq(proto_term_distance("face", "face"), 0);
    ck_assert_uint_eq(proto_term_distance("FACE", "face"), 0);
    ck_assert_uint_eq(proto_term_distance("fase", "face"), 1);          /* substitution */
    ck_assert_uint_eq(proto_term_distance("fcae", "face"), 1);          /* transposition */
    ck_assert_uint_eq(proto_term_distance("isotretinion", "isotretinoin"), 1);
    ck_assert_uint_eq(proto_term_distance("warfarrin", "warfarin"), 1); /* doubled letter */
    ck_assert_uint_eq(proto_term_distance("ibuprofn", "ibuprofen"), 1); /* missing letter */
    ck_assert_uint_eq(proto_term_distance("ibuprophen", "ibuprofen"), 2);
    ck_assert_uint_eq(proto_term_distance("", "neck"), 4);
    ck_assert_uint_eq(proto_term_distance("kitten", "sitting"), 3);
    /* OSA, not full Damerau: "ca" -> "abc" is 3, not 2 */
    ck_assert_uint_eq(proto_term_distance("ca", "abc"), 3);
    char longw[PROTO_TERM_MAX_LEN + 2];
    memset(longw, 'a', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    ck_assert_uint_eq(proto_term_distance(longw, "a"), PROTO_TERM_FAR);
    longw[PROTO_TERM_MAX_LEN] = '\0';   /* exactly the limit is compared */
    ck_assert_uint_eq(proto_term_distance(longw, "a"), PROTO_TERM_MAX_LEN - 1);
}
END_TEST

START_TEST(budgets)
{
    ck_assert_uint_eq(proto_term_budget(0), 0);
    ck_assert_uint_eq(proto_term_budget(2), 0);
    ck_assert_uint_eq(proto_term_budget(3), 1);
    ck_assert_uint_eq(proto_term_budget(5), 1);
    ck_assert_uint_eq(proto_term_budget(6), 2);
    ck_assert_uint_eq(proto_term_budget(11), 2);
    ck_assert_uint_eq(proto_term_budget(12), 3);
    ck_assert_uint_eq(proto_term_budget(128), 3);
}
END_TEST

START_TEST(near_ranks)
{
    /* equal */
    ck_assert_uint_eq(proto_term_near("Warfarin", "warfarin"), 0);
    /* rule 1: whole words, either way round */
    ck_assert_uint_eq(proto_term_near("isotretinoin-20mg", "isotretinoin"), 1);
    ck_assert_uint_eq(proto_term_near("oral-isotretinoin", "isotretinoin"), 1);
    ck_assert_uint_eq(proto_term_near("fish", "fish-oil"), 1);
    ck_assert_uint_eq(proto_term_near("acne", "active-acne"), 1);
    ck_assert_uint_eq(proto_term_near("type-2-diabetes", "diabetes"), 1);
    /* ...but not inside a word, and not for names under 3 characters */
    ck_assert_uint_eq(proto_term_near("garlicky", "garlic"), 1 + 2);   /* distance 2 */
    ck_assert_uint_eq(proto_term_near("hiv", "hiv-x"), 1);
    ck_assert_uint_eq(proto_term_near("xx-e", "e"), PROTO_TERM_FAR);
    /* rule 2: within the budget of the word's length */
    ck_assert_uint_eq(proto_term_near("isotretinion", "isotretinoin"), 2);
    ck_assert_uint_eq(proto_term_near("asprin", "aspirin"), 2);
    ck_assert_uint_eq(proto_term_near("ibuprophen", "ibuprofen"), 3);
    ck_assert_uint_eq(proto_term_near("nickle", "nickel"), 2);
    ck_assert_uint_eq(proto_term_near("hv", "hiv"), PROTO_TERM_FAR);   /* budget 0 */
    ck_assert_uint_eq(proto_term_near("latex", "nickel"), PROTO_TERM_FAR);
    ck_assert_uint_eq(proto_term_near("lichen-planus", "psoriasis"), PROTO_TERM_FAR);
    /* 12+ characters: three slips allowed, four not */
    ck_assert_uint_eq(proto_term_near("isotretinxyz", "isotretinoin"), 4);
    ck_assert_uint_eq(proto_term_near("isotrewxyzin", "isotretinoin"), PROTO_TERM_FAR);
    /* rule 3: a prefix of 3 characters or more, after every distance */
    ck_assert_uint_eq(proto_term_near("warf", "warfarin"), 2 + 1);
    ck_assert_uint_eq(proto_term_near("isotret", "isotretinoin"), 2 + 2);
    ck_assert_uint_eq(proto_term_near("is", "isotretinoin"), PROTO_TERM_FAR);
}
END_TEST

/* 3 to 14 letters from a three-letter alphabet, so that near pairs are
 * common (a fixed-seed linear congruential generator: reproducible). */
static void random_word(char w[16], unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t n = 3 + (*seed >> 16) % 12;
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        w[i] = "abc"[(*seed >> 16) % 3];
    }
    w[n] = '\0';
}

/* proto_term_near stops computing a distance once it must exceed the
 * budget: over many random pairs it agrees with the full distance. */
START_TEST(near_agrees_with_distance)
{
    unsigned seed = 12345;
    char a[16], b[16];
    for (int round = 0; round < 20000; round++) {
        random_word(a, &seed);
        random_word(b, &seed);
        size_t la = strlen(a), lb = strlen(b);
        size_t d = proto_term_distance(a, b), budget = proto_term_budget(la);
        size_t want = PROTO_TERM_FAR;
        if (la == lb && !strcmp(a, b))
            want = 0;
        else if (d <= budget)
            want = 1 + d;
        else if (la < lb && !strncmp(a, b, la))
            want = 2 + budget;
        ck_assert_msg(proto_term_near(a, b) == want, "%s %s: near %zu, distance %zu", a, b,
                      proto_term_near(a, b), d);
    }
}
END_TEST

START_TEST(closest)
{
    static const char *const meds[] = {"aspirin", "isotretinoin", "tretinoin", "vitamin-c-serum",
                                       "vitamin-e", "warfarin"};
    const size_t n = sizeof meds / sizeof meds[0];
    ck_assert_str_eq(proto_term_closest("isotretinion", meds, n), "isotretinoin");
    ck_assert_str_eq(proto_term_closest("tretinon", meds, n), "tretinoin");
    ck_assert_str_eq(proto_term_closest("asprin", meds, n), "aspirin");
    ck_assert_str_eq(proto_term_closest("warf", meds, n), "warfarin");
    /* whole words beat a one-letter slip: vitamin-c means the serum, not vitamin E */
    ck_assert_str_eq(proto_term_closest("vitamin-c", meds, n), "vitamin-c-serum");
    ck_assert_str_eq(proto_term_closest("vitamin-d", meds, n), "vitamin-e");
    ck_assert_ptr_null(proto_term_closest("metformin", meds, n));
    ck_assert_ptr_null(proto_term_closest("zzz-unknown-drug", meds, n));
    ck_assert_ptr_null(proto_term_closest("isotretinion", meds, 0));
    /* ties go to the earlier candidate */
    static const char *const two[] = {"abcd", "abce"};
    ck_assert_str_eq(proto_term_closest("abcf", two, 2), "abcd");
    /* a junk term as long as the protocol allows is near nothing */
    char junk[PROTO_TERM_MAX_LEN + 1];
    memset(junk, 'q', PROTO_TERM_MAX_LEN);
    junk[PROTO_TERM_MAX_LEN] = '\0';
    ck_assert_ptr_null(proto_term_closest(junk, meds, n));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto_term");
    TCase *tc = tcase_create("normalise");
    tcase_add_test(tc, normalise_trims_and_folds);
    tcase_add_test(tc, normalise_refuses_empty_and_overlong);
    tcase_add_test(tc, control_characters);
    tcase_add_test(tc, utf8_cut_on_character_boundary);
    tcase_add_test(tc, error_message_cut_on_character_boundary);
    suite_add_tcase(s, tc);
    tc = tcase_create("near miss");
    tcase_add_test(tc, distances);
    tcase_add_test(tc, budgets);
    tcase_add_test(tc, near_ranks);
    tcase_add_test(tc, near_agrees_with_distance);
    tcase_add_test(tc, closest);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
