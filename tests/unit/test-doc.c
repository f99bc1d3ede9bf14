/* nestlab's own documents: each formatted, parsed back and compared (round
 * trips), their XML held against golden files, and what must survive a
 * rewrite (unknown elements, old marks without a namespace). */
#include <string.h>

#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/image.h>
#include "nl-test.h"

static char *targets[] = { "vda", "vdb", NULL };
static char *disks[] = { "/p/m-vda@c.qcow2", "/p/m-vdb@c.qcow2", NULL };
static char *bases[] = { "/p/m-disk0.qcow2", "/p/m & <data>.qcow2", NULL };

static NlCheckpointRecord *
sample_record (const char *name, NlCheckpointMode mode)
{
  NlCheckpointRecord rec = { .name = (char *) name, .mode = mode, .created = (char *) "2026-11-23T12:00:00Z",
                             .running = TRUE, .targets = targets, .disks = disks, .bases = bases,
                             .nvram_copy = (char *) "/p/m@c.nvram", .memory = (char *) "/p/m@c.mem" };
  return nl_checkpoint_record_copy (&rec);
}

static void
assert_records_equal (const NlCheckpointRecord *a, const NlCheckpointRecord *b)
{
  ck_assert_str_eq (a->name, b->name);
  ck_assert_int_eq (a->mode, b->mode);
  ck_assert_str_eq (a->created, b->created);
  ck_assert_int_eq (a->running, b->running);
  ck_assert_uint_eq (g_strv_length (a->targets), g_strv_length (b->targets));
  for (guint i = 0; a->targets[i]; i++)
    {
      ck_assert_str_eq (a->targets[i], b->targets[i]);
      ck_assert_str_eq (a->disks[i], b->disks[i]);
      ck_assert_str_eq (a->bases[i], b->bases[i]);
    }
  ck_assert_pstr_eq (a->nvram_copy, b->nvram_copy);
  ck_assert_pstr_eq (a->tpm_copy, b->tpm_copy);
  ck_assert_pstr_eq (a->memory, b->memory);
}

static NlOwnership *
sample_mark (void)
{
  NlOwnership *own = nl_ownership_new ("ad");
  g_autoptr (NlCheckpointRecord) rec = sample_record ("clean", NL_CHECKPOINT_EXTERNAL);
  own->digest = g_strdup ("d1");
  own->config = g_strdup ("c1");
  own->machine = g_strdup ("dc01");
  own->role = g_strdup ("domain-controller");
  own->nested = TRUE;
  own->wave = 2;
  own->os = g_strdup ("win2k22");
  own->media = g_strdup ("m1");
  nl_ownership_add_volume (own, "default", "ad-dc01-disk0.qcow2", FALSE);
  nl_ownership_add_volume (own, "default", "ad-witness.raw", TRUE);
  own->after = g_strsplit ("net01,dns01", ",", -1);
  nl_ownership_put_checkpoint (own, rec);
  {
    NlStepRecord step = { .name = (char *) "forest", .state = NL_STEP_STATE_FAILED, .digest = (char *) "s1",
                          .started = (char *) "2026-11-23T12:00:00Z", .finished = (char *) "2026-11-23T12:01:00Z",
                          .exit_code = 3, .attempts = 2, .tail = (char *) "line 1\nline <2> & more" };
    nl_ownership_put_step (own, &step);
  }
  return own;
}

START_TEST (restore_points_survive_a_round_trip)
{
  g_autoptr (NlCheckpointRecord) rec = sample_record ("c", NL_CHECKPOINT_EXTERNAL);
  g_autofree char *xml = nl_restore_point_format (rec);
  g_autoptr (NlCheckpointRecord) back = nl_restore_point_parse (xml);

  ck_assert (nl_test_golden ("doc/restore-point.xml", xml));
  ck_assert_ptr_nonnull (back);
  assert_records_equal (rec, back);
  /* Not a record: nothing, not a crash. */
  ck_assert_ptr_null (nl_restore_point_parse ("<restore-point/>"));
  ck_assert_ptr_null (nl_restore_point_parse ("<restore-point name='x' mode='sideways'/>"));
  ck_assert_ptr_null (nl_restore_point_parse ("not xml"));
  ck_assert_ptr_null (nl_restore_point_parse (NULL));
}
END_TEST

START_TEST (marks_survive_a_round_trip)
{
  g_autoptr (NlOwnership) own = sample_mark ();
  g_autofree char *xml = nl_ownership_format (own);
  g_autoptr (NlOwnership) back = NULL;
  g_autofree char *again = NULL;
  g_autoptr (GError) error = NULL;

  ck_assert (nl_test_golden ("doc/mark.xml", xml));
  ck_assert_msg (nl_ownership_parse (xml, &back, &error), "%s", error ? error->message : "");
  ck_assert_ptr_nonnull (back);
  ck_assert_str_eq (back->lab, "ad");
  ck_assert_str_eq (back->digest, "d1");
  ck_assert_str_eq (back->config, "c1");
  ck_assert_str_eq (back->machine, "dc01");
  ck_assert_str_eq (back->role, "domain-controller");
  ck_assert (back->nested);
  ck_assert_uint_eq (back->wave, 2);
  ck_assert_str_eq (back->os, "win2k22");
  ck_assert_str_eq (back->media, "m1");
  ck_assert_uint_eq (back->volumes->len, 2);
  ck_assert (((NlOwnedVolume *) back->volumes->pdata[1])->shared);
  ck_assert_uint_eq (g_strv_length (back->after), 2);
  ck_assert_uint_eq (back->checkpoints->len, 1);
  assert_records_equal (own->checkpoints->pdata[0], back->checkpoints->pdata[0]);
  {
    NlStepRecord *st = nl_ownership_find_step (back, "forest");
    ck_assert_ptr_nonnull (st);
    ck_assert_int_eq (st->state, NL_STEP_STATE_FAILED);
    ck_assert_str_eq (st->digest, "s1");
    ck_assert_str_eq (st->finished, "2026-11-23T12:01:00Z");
    ck_assert_int_eq (st->exit_code, 3);
    ck_assert_uint_eq (st->attempts, 2);
    ck_assert_str_eq (st->tail, "line 1\nline <2> & more");
  }
  again = nl_ownership_format (back);
  ck_assert_str_eq (again, xml);
}
END_TEST

START_TEST (network_marks_carry_no_machine_fields)
{
  g_autoptr (NlOwnership) own = nl_ownership_new ("ad");
  g_autofree char *xml = NULL;

  own->digest = g_strdup ("d1");
  own->network = g_strdup ("mgmt");
  xml = nl_ownership_format (own);
  ck_assert_str_eq (xml, "<lab name=\"ad\" digest=\"d1\" network=\"mgmt\"/>");
}
END_TEST

/* libvirt's metadata API may hand the mark back without its namespace;
 * a later version's elements must survive a rewrite by this one. */
START_TEST (marks_keep_what_they_do_not_know)
{
  const char *xml = "<lab name='ad' machine='m' wave='1'>"
                    "<volume pool='p' name='v'/>"
                    "<role-state name='forest' state='done'><line>ok</line></role-state>"
                    "</lab>";
  g_autoptr (NlOwnership) own = NULL;
  g_autoptr (NlOwnership) back = NULL;
  g_autofree char *text = NULL;

  ck_assert (nl_ownership_parse (xml, &own, NULL));
  ck_assert_ptr_nonnull (own);
  ck_assert_uint_eq (own->volumes->len, 1);
  ck_assert_uint_eq (own->extra->len, 1);
  nl_ownership_add_volume (own, "p", "w", FALSE);
  text = nl_ownership_format (own);
  ck_assert_msg (strstr (text, "<role-state name=\"forest\" state=\"done\"><line>ok</line></role-state>") != NULL,
                 "%s", text);
  ck_assert (nl_ownership_parse (text, &back, NULL));
  ck_assert_uint_eq (back->volumes->len, 2);
  ck_assert_uint_eq (back->extra->len, 1);
  {
    g_autofree char *again = nl_ownership_format (back);
    ck_assert_str_eq (again, text);
  }
}
END_TEST

START_TEST (marks_are_found_in_definitions_and_replaced_in_place)
{
  const char *domain = "<domain type='kvm'><name>x</name><metadata>"
                       "<other:thing xmlns:other='urn:other'/>"
                       "<nestlab:lab xmlns:nestlab='" NL_DOC_LAB_NS "' name='old'/>"
                       "</metadata></domain>";
  const char *foreign = "<domain><metadata><lab name='not-ours'/></metadata></domain>";
  g_autoptr (NlOwnership) own = NULL;
  g_autoptr (NlOwnership) none = NULL;
  g_autoptr (xmlDoc) doc = nl_xml_parse (domain, NULL);
  g_autoptr (NlOwnership) fresh = nl_ownership_new ("new");
  g_autoptr (NlOwnership) read = NULL;
  g_autofree char *text = NULL;

  ck_assert (nl_ownership_parse (domain, &own, NULL));
  ck_assert_str_eq (own->lab, "old");
  /* Inside a definition only the namespaced element is the mark. */
  ck_assert (nl_ownership_parse (foreign, &none, NULL));
  ck_assert_ptr_null (none);
  nl_ownership_put (xmlDocGetRootElement (doc), fresh);
  read = nl_ownership_read (xmlDocGetRootElement (doc));
  ck_assert_str_eq (read->lab, "new");
  text = nl_xml_node_to_string (xmlDocGetRootElement (doc), FALSE);
  ck_assert_msg (strstr (text, "urn:other") != NULL && strstr (text, "old") == NULL, "%s", text);
}
END_TEST

START_TEST (checkpoint_records_are_put_and_dropped_by_name)
{
  g_autoptr (NlOwnership) own = sample_mark ();
  g_autoptr (NlCheckpointRecord) newer = sample_record ("clean", NL_CHECKPOINT_INTERNAL);
  g_autoptr (NlCheckpointRecord) other = sample_record ("other", NL_CHECKPOINT_INTERNAL);

  nl_ownership_put_checkpoint (own, newer);
  nl_ownership_put_checkpoint (own, other);
  ck_assert_uint_eq (own->checkpoints->len, 2);
  ck_assert_int_eq (nl_ownership_find_checkpoint (own, "clean")->mode, NL_CHECKPOINT_INTERNAL);
  ck_assert (nl_ownership_drop_checkpoint (own, "clean"));
  ck_assert (!nl_ownership_drop_checkpoint (own, "clean"));
  ck_assert_ptr_null (nl_ownership_find_checkpoint (own, "clean"));
  ck_assert_ptr_nonnull (nl_ownership_find_checkpoint (own, "other"));
}
END_TEST

START_TEST (bad_xml_is_an_error_not_a_crash)
{
  g_autoptr (NlOwnership) own = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) none = NULL;

  ck_assert (!nl_ownership_parse ("<lab", &own, &error));
  ck_assert_ptr_null (own);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_LIBVIRT));
  g_clear_error (&error);
  none = nl_patch_history_parse ("<patches><patch", &error);
  ck_assert_ptr_null (none);
  ck_assert_ptr_nonnull (error);
}
END_TEST

START_TEST (patch_history_survives_a_round_trip)
{
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_patch_record_free);
  g_autoptr (GPtrArray) back = NULL;
  g_autoptr (GPtrArray) empty = nl_patch_history_parse (NULL, NULL);
  g_autofree char *xml = NULL;
  const char *ids[] = { "KB5030216", "KB & <odd>" };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      NlPatchRecord *r = g_new0 (NlPatchRecord, 1);
      r->id = g_strdup (ids[i]);
      r->run = g_strdup ("run-1");
      r->installed = g_strdup ("2026-11-23T12:00:00Z");
      g_ptr_array_add (records, r);
    }
  xml = nl_patch_history_format (records);
  ck_assert (nl_test_golden ("doc/patches.xml", xml));
  back = nl_patch_history_parse (xml, NULL);
  ck_assert_uint_eq (back->len, 2);
  for (guint i = 0; i < back->len; i++)
    {
      NlPatchRecord *a = records->pdata[i], *b = back->pdata[i];
      ck_assert_str_eq (a->id, b->id);
      ck_assert_str_eq (a->run, b->run);
      ck_assert_str_eq (a->installed, b->installed);
    }
  ck_assert_uint_eq (empty->len, 0);
}
END_TEST

START_TEST (checkpoint_modes_have_one_spelling_each)
{
  ck_assert_str_eq (nl_checkpoint_mode_to_string (NL_CHECKPOINT_INTERNAL), "internal");
  ck_assert_str_eq (nl_checkpoint_mode_to_string (NL_CHECKPOINT_EXTERNAL), "external");
  ck_assert_int_eq (nl_checkpoint_mode_from_string ("external"), NL_CHECKPOINT_EXTERNAL);
  ck_assert_int_eq (nl_checkpoint_mode_from_string ("External"), -1);
  ck_assert_int_eq (nl_checkpoint_mode_from_string (NULL), -1);
}
END_TEST

START_TEST (image_records_survive_a_round_trip)
{
  NlImageRecord rec = { .name = (char *) "ws2022", .os = (char *) "win2k22", .pool = (char *) "default",
                        .volume = (char *) "ws2022.qcow2", .firmware = (char *) "uefi", .generalized = TRUE,
                        .agent = FALSE, .source = (char *) "/srv/media/ws2022 & co.vhdx",
                        .source_format = (char *) "vhdx", .checksum = (char *) "abc123",
                        .created = (char *) "2026-11-23T12:00:00Z" };
  g_autofree char *xml = nl_image_record_format (&rec);
  g_autoptr (NlImageRecord) back = nl_image_record_parse (xml, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NlImageRecord) bad = nl_image_record_parse ("<lab name='x'/>", &error);

  ck_assert (nl_test_golden ("doc/image.xml", xml));
  ck_assert_ptr_nonnull (back);
  ck_assert_str_eq (back->name, rec.name);
  ck_assert_str_eq (back->os, rec.os);
  ck_assert_str_eq (back->pool, rec.pool);
  ck_assert_str_eq (back->volume, rec.volume);
  ck_assert_str_eq (back->firmware, rec.firmware);
  ck_assert (back->generalized && !back->agent);
  ck_assert_str_eq (back->source, rec.source);
  ck_assert_str_eq (back->source_format, rec.source_format);
  ck_assert_str_eq (back->checksum, rec.checksum);
  ck_assert_str_eq (back->created, rec.created);
  ck_assert_ptr_null (bad);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
}
END_TEST

static Suite *
doc_suite (void)
{
  Suite *s = suite_create ("doc");
  TCase *tc = tcase_create ("documents");
  tcase_add_test (tc, restore_points_survive_a_round_trip);
  tcase_add_test (tc, marks_survive_a_round_trip);
  tcase_add_test (tc, network_marks_carry_no_machine_fields);
  tcase_add_test (tc, marks_keep_what_they_do_not_know);
  tcase_add_test (tc, marks_are_found_in_definitions_and_replaced_in_place);
  tcase_add_test (tc, checkpoint_records_are_put_and_dropped_by_name);
  tcase_add_test (tc, bad_xml_is_an_error_not_a_crash);
  tcase_add_test (tc, patch_history_survives_a_round_trip);
  tcase_add_test (tc, checkpoint_modes_have_one_spelling_each);
  tcase_add_test (tc, image_records_survive_a_round_trip);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (doc_suite)
