/* Model helpers: sizes, durations, addresses, names and derived identifiers. */
#include <nestlab/error.h>
#include <nestlab/json.h>
#include <nestlab/model.h>
#include "nl-test.h"

START_TEST (sizes_parse_with_binary_and_decimal_units)
{
  guint64 v = 0;
  ck_assert (nl_parse_size ("4GiB", &v, NULL));
  ck_assert_uint_eq (v, G_GUINT64_CONSTANT (4) << 30);
  ck_assert (nl_parse_size ("512MiB", &v, NULL));
  ck_assert_uint_eq (v, G_GUINT64_CONSTANT (512) << 20);
  ck_assert (nl_parse_size ("8G", &v, NULL));
  ck_assert_uint_eq (v, G_GUINT64_CONSTANT (8000000000));
  ck_assert (nl_parse_size ("1024", &v, NULL));
  ck_assert_uint_eq (v, 1024);
  ck_assert (nl_parse_size ("2 TiB", &v, NULL));
  ck_assert_uint_eq (v, G_GUINT64_CONSTANT (2) << 40);
}
END_TEST

START_TEST (bad_sizes_are_refused_with_a_message)
{
  static const char *const bad[] = { "", "GiB", "4 gigs", "-1G", "4.5GiB", "99999999999999999999", "17179869184TiB" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      guint64 v = 0;
      ck_assert_msg (!nl_parse_size (bad[i], &v, &error), "accepted '%s'", bad[i]);
      ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
    }
}
END_TEST

START_TEST (durations_parse)
{
  guint s = 0;
  ck_assert (nl_parse_duration ("30s", &s, NULL) && s == 30);
  ck_assert (nl_parse_duration ("2m", &s, NULL) && s == 120);
  ck_assert (nl_parse_duration ("90", &s, NULL) && s == 90);
  ck_assert (nl_parse_duration ("1h", &s, NULL) && s == 3600);
  ck_assert (!nl_parse_duration ("soon", &s, NULL));
  ck_assert (!nl_parse_duration ("5d", &s, NULL));
}
END_TEST

START_TEST (ipv4_and_cidr)
{
  guint32 a = 0, net = 0;
  guint prefix = 0;
  g_autofree char *text = NULL;
  ck_assert (nl_parse_ipv4 ("10.50.0.1", &a));
  ck_assert_uint_eq (a, 0x0a320001);
  text = nl_format_ipv4 (a);
  ck_assert_str_eq (text, "10.50.0.1");
  ck_assert (!nl_parse_ipv4 ("10.50.0", &a));
  ck_assert (!nl_parse_ipv4 ("10.50.0.256", &a));
  ck_assert (!nl_parse_ipv4 ("10.050.0.1", &a));
  ck_assert (!nl_parse_ipv4 ("10.50.0.1 ", &a));
  ck_assert (nl_parse_cidr ("10.50.0.0/24", &net, &prefix) && prefix == 24);
  ck_assert (nl_ipv4_in_subnet (a, net, prefix));
  ck_assert (!nl_ipv4_in_subnet (0x0a330001, net, prefix));
  ck_assert (!nl_parse_cidr ("10.50.0.0", &net, &prefix));
  ck_assert (!nl_parse_cidr ("10.50.0.0/31", &net, &prefix));
}
END_TEST

START_TEST (safe_names)
{
  ck_assert (nl_name_is_safe ("hv01"));
  ck_assert (nl_name_is_safe ("scvmm-demo.lab_1"));
  ck_assert (!nl_name_is_safe (""));
  ck_assert (!nl_name_is_safe ("-x"));
  ck_assert (!nl_name_is_safe ("../etc"));
  ck_assert (!nl_name_is_safe ("a/b"));
  ck_assert (!nl_name_is_safe ("with space"));
  ck_assert (!nl_name_is_safe ("x234567890123456789012345678901234567890123456789012345678901234"));
}
END_TEST

START_TEST (identifiers_are_stable_and_salted)
{
  g_autoptr (NlLab) lab = nl_lab_new ();
  g_autoptr (NlMachine) m = nl_machine_new ();
  g_autofree char *u1 = NULL, *u2 = NULL, *u3 = NULL, *mac1 = NULL, *mac2 = NULL, *br = NULL;

  lab->name = g_strdup ("demo");
  m->name = g_strdup ("dc01");
  u1 = nl_lab_machine_uuid (lab, m, NULL);
  u2 = nl_lab_machine_uuid (lab, m, NULL);
  u3 = nl_lab_machine_uuid (lab, m, "replica");
  ck_assert_str_eq (u1, u2);
  ck_assert_str_ne (u1, u3);
  ck_assert_uint_eq (strlen (u1), 36);
  ck_assert_int_eq (u1[14], '5');
  mac1 = nl_lab_nic_mac (lab, m, 0, NULL);
  mac2 = nl_lab_nic_mac (lab, m, 1, NULL);
  ck_assert (g_str_has_prefix (mac1, "02:"));
  ck_assert_str_ne (mac1, mac2);
  {
    NlNetwork net = { .name = (char *) "mgmt" };
    br = nl_lab_bridge_name (lab, &net);
    ck_assert_uint_le (strlen (br), 15);
  }
}
END_TEST

START_TEST (enum_tables_convert_both_ways)
{
  ck_assert_str_eq (nl_role_to_string (NL_ROLE_HYPERV_HOST), "hyperv-host");
  ck_assert_int_eq (nl_role_from_string ("domain-controller"), NL_ROLE_DOMAIN_CONTROLLER);
  ck_assert_int_eq (nl_role_from_string ("king"), -1);
  ck_assert_ptr_null (nl_role_to_string (NL_ROLE_LAST));
  ck_assert_int_eq (nl_os_family_of ("win2k25"), NL_OS_FAMILY_WINDOWS);
  ck_assert_int_eq (nl_os_family_of ("debian12"), NL_OS_FAMILY_LINUX);
}
END_TEST

START_TEST (json_strings_are_escaped)
{
  g_autoptr (GString) out = g_string_new (NULL);
  nl_json_append_string (out, "a\"b\\c\nd\te\001\r");
  ck_assert_str_eq (out->str, "\"a\\\"b\\\\c\\nd\\te\\u0001\\r\"");
  g_string_truncate (out, 0);
  nl_json_append_string (out, NULL);
  g_string_append_c (out, ' ');
  nl_json_append_string (out, "caf\u00e9 \u2014 ok");
  ck_assert_str_eq (out->str, "null \"caf\u00e9 \u2014 ok\"");
}
END_TEST

START_TEST (json_reads_back_what_it_writes_and_refuses_the_rest)
{
  g_autoptr (GString) out = g_string_new ("{\"name\":");
  g_autoptr (NlJson) j = NULL;
  const NlJson *v;
  const char *bad[] = { "", "{", "[1,]", "{\"a\" 1}", "\"\\q\"", "tru", "1 2", "{\"a\":1}x", NULL };

  nl_json_append_string (out, "a\"b\\c\nd\te\001 caf\u00e9");
  g_string_append (out, ", \"vms\": [ {\"n\": 1.5, \"on\": true}, null, false ], \"u\": \"\\u00e9\" }");
  j = nl_json_parse (out->str);
  ck_assert_msg (j != NULL, "%s", out->str);
  ck_assert_int_eq (j->type, NL_JSON_OBJECT);
  v = nl_json_get (j, "name");
  ck_assert (v && v->type == NL_JSON_STRING);
  ck_assert_str_eq (v->str, "a\"b\\c\nd\te\001 caf\u00e9");
  v = nl_json_get (j, "vms");
  ck_assert (v && v->type == NL_JSON_ARRAY && v->items->len == 3);
  ck_assert (nl_json_get (v->items->pdata[0], "n")->num == 1.5);
  ck_assert (nl_json_get (v->items->pdata[0], "on")->b);
  ck_assert_int_eq (((NlJson *) v->items->pdata[1])->type, NL_JSON_NULL);
  ck_assert_str_eq (nl_json_get (j, "u")->str, "\u00e9");
  ck_assert_ptr_null (nl_json_get (j, "missing"));
  ck_assert_ptr_null (nl_json_get (NULL, "name"));
  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr (NlJson) b = nl_json_parse (bad[i]);
      ck_assert_msg (b == NULL, "parsed '%s'", bad[i]);
    }
  {
    /* Nesting is bounded. */
    g_autofree char *deep = g_strnfill (100, '[');
    g_autoptr (NlJson) d = nl_json_parse (deep);
    ck_assert_ptr_null (d);
  }
}
END_TEST

static Suite *
model_suite (void)
{
  Suite *s = suite_create ("model");
  TCase *tc = tcase_create ("model");
  tcase_add_test (tc, sizes_parse_with_binary_and_decimal_units);
  tcase_add_test (tc, bad_sizes_are_refused_with_a_message);
  tcase_add_test (tc, durations_parse);
  tcase_add_test (tc, ipv4_and_cidr);
  tcase_add_test (tc, safe_names);
  tcase_add_test (tc, identifiers_are_stable_and_salted);
  tcase_add_test (tc, enum_tables_convert_both_ways);
  tcase_add_test (tc, json_strings_are_escaped);
  tcase_add_test (tc, json_reads_back_what_it_writes_and_refuses_the_rest);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (model_suite)
