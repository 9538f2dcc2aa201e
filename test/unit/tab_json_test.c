/*
 * tab_json_test.c
 *		Unit tests of tab_json_fast_load, the direct reading of JSON text
 *		into jansson's tree: whatever it takes it must read exactly as
 *		jansson does (JSON_REJECT_DUPLICATES), and it must take nothing that
 *		jansson refuses.  Documents and their conversion are tested elsewhere.
 */
#include <jansson.h>

#include "test_util.h"

#define FIXTURES_DEFAULT_DIR "../../../shared/fixtures/tab"

/* Compare with jansson; returns 1 when taken (and the same), 0 when left. */
static int
same_as_jansson(const char *doc, size_t len, const char *name)
{
	json_t		*fast = tab_json_fast_load(doc, len);
	json_error_t jerr;
	json_t		*ref = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	int			 taken = fast != NULL;

	if (fast != NULL &&
		!ok(ref != NULL && json_equal(fast, ref), "%s: read as jansson reads it",
			name))
		diag("jansson: %s", ref ? "a different tree" : jerr.text);
	json_decref(fast);
	json_decref(ref);
	return taken;
}

static void
taken(const char *sq, const char *name)
{
	char *doc = J(sq);

	ok(same_as_jansson(doc, strlen(doc), name), "%s: taken", name);
	free(doc);
}

static void
left_raw(const char *doc, size_t len, const char *name)
{
	json_error_t jerr;
	json_t		*ref = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t		*fast = tab_json_fast_load(doc, len);

	ok(fast == NULL, "%s: left to jansson%s", name,
	   ref == NULL ? " (which refuses it)" : "");
	json_decref(fast);
	json_decref(ref);
}

static void
left(const char *sq, const char *name)
{
	char *doc = J(sq);

	left_raw(doc, strlen(doc), name);
	free(doc);
}

static void
test_taken(void)
{
	taken("{}", "empty object");
	taken("[]", "empty array");
	taken(" \t\r\n{ 'a' : [ 1 , -2 , 0 , -0 , 3.25 , -0.5 , 1e3 , 2E-2 , 5e+1 ] } \n",
		  "numbers and whitespace");
	taken("{'a': true, 'b': false, 'c': null, 'd': '', '': 'empty key'}",
		  "literals, empty strings");
	taken("{'i': 9223372036854775807, 'j': -9223372036854775808}",
		  "integer limits");
	taken("{'s': 'tab\\tnew\\nquote\\\"slash\\/back\\\\bf\\b\\f\\r'}",
		  "escapes");
	taken("{'u': 'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8e \x7f'}",
		  "UTF-8 of two, three and four bytes, DEL");
	taken("[[[[[[[[[[{'deep': [[[]]]}]]]]]]]]]]", "nesting");
	taken("{'a': {'b': {'c': [1, {'d': 'e'}]}}, 'f': 1.7976931348623157e308}",
		  "objects in objects, largest double");
	taken("[1e-400]", "a real that underflows (jansson accepts it)");
}

static void
test_left(void)
{
	static const char nul_in_string[] = "[\"a\0b\"]";

	left("", "empty text");
	left("   ", "whitespace only");
	left("1", "a number at the root");
	left("'s'", "a string at the root");
	left("[01]", "leading zero");
	left("[1.]", "no digit after the point");
	left("[.5]", "no digit before the point");
	left("[-]", "a lone minus");
	left("[1e]", "no exponent digits");
	left("[+1]", "a plus sign");
	left("[1,]", "trailing comma in an array");
	left("{'a': 1,}", "trailing comma in an object");
	left("{'a' 1}", "no colon");
	left("{1: 2}", "a number as a key");
	left("[tru]", "a cut literal");
	left("[truex]", "a long literal");
	left("[True]", "a capital literal");
	left("[1 2]", "no comma");
	left("{'a': 1, 'a': 2}", "a duplicate key");
	left("[1] x", "trailing data");
	left("[1][2]", "two roots");
	left("['abc", "an unterminated string");
	left("[1", "an unterminated array");
	left("['\\x']", "an invalid escape");
	left("['\\u0041']", "a \\u escape (jansson decodes it)");
	left("{'k\\n': 1}", "an escape in a key");
	left("['a\tb']", "a raw tab in a string");
	left("['\xc0\x80']", "an overlong NUL");
	left("['\xe0\x80\xaf']", "an overlong slash");
	left("['\xed\xa0\x80']", "a surrogate");
	left("['\xf4\x90\x80\x80']", "over U+10FFFF");
	left("['\xf5\x80\x80\x80']", "an invalid lead byte");
	left("['\xc3']", "a cut sequence");
	left("['\xc3(']", "a bad continuation byte");
	left("['\x80']", "a lone continuation byte");
	left("[99999999999999999999]", "an integer that overflows");
	left("[1e999]", "a real that overflows");
	left("\xef\xbb\xbf[]", "a byte order mark");
	left_raw(nul_in_string, sizeof(nul_in_string) - 1, "a NUL byte in a string");
}

/*
 * Mutate a real document a byte at a time: whatever the fast reading
 * takes, jansson must read the same.
 */
static void
test_mutations(void)
{
	const char *dir = getenv("RACING_SCHED_FIXTURES");
	char		path[1024];
	size_t		len = 0;
	char	   *doc;
	char	   *copy;
	unsigned	seed = 12345;
	int			taken_n = 0;
	int			bad = 0;
	static const char bytes[] = "{}[]\",:0123456789.-+eE \\tfnu\x80\xc3\xff\x01a";

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : FIXTURES_DEFAULT_DIR,
			 "race_open_R-TRS-2018-01-21-R1_runners-odds-pools.json");
	doc = read_file(path, &len);
	if (!ok(doc != NULL, "race fixture readable"))
		return;
	ok(same_as_jansson(doc, len, "race fixture"), "race fixture taken");
	copy = malloc(len);
	for (int i = 0; i < 3000; i++)
	{
		json_t	   *fast;
		json_t	   *ref;
		json_error_t jerr;
		int			edits = 1 + i % 3;

		memcpy(copy, doc, len);
		for (int e = 0; e < edits; e++)
		{
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % len] = bytes[(seed >> 3) % (sizeof(bytes) - 1)];
		}
		fast = tab_json_fast_load(copy, len);
		if (fast != NULL)
		{
			taken_n++;
			ref = json_loadb(copy, len, JSON_REJECT_DUPLICATES, &jerr);
			if (ref == NULL || !json_equal(fast, ref))
				bad++;
			json_decref(ref);
		}
		json_decref(fast);
	}
	ok(taken_n > 100, "mutations: %d of 3000 taken", taken_n);
	is_int(bad, 0, "mutations taken are read as jansson reads them");
	free(copy);
	free(doc);
}

int
main(void)
{
	test_taken();
	test_left();
	test_mutations();
	return done_testing();
}
