/* Lab lifecycle on libvirt's test driver, in-process: plans, up, ownership,
 * idempotency, conflicts, destroy and checkpoint ordering. Every test is a
 * forked Check case with its own test:///default state (the parent never
 * opens a connection). */
#include <dlfcn.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include <nestlab/agent.h>
#include <nestlab/error.h>
#include <nestlab/lab.h>
#include <nestlab/secret.h>
#include <nestlab/template.h>
#include <nestlab/patches.h>
#include <nestlab/replica.h>
#include <nestlab/restore.h>
#include "virt-private.h"
#include "nl-config.h"
#include "nl-test.h"

#define TEST_URI "test:///default"

static virConnectPtr
connect_test (void)
{
  g_autoptr (GError) error = NULL;
  virConnectPtr conn = nl_virt_connect (TEST_URI, &error);
  ck_assert_msg (conn != NULL, "%s", error ? error->message : "?");
  return conn;
}

/* tests/data/lab/ad.xml with "k=v" overrides (NULL-terminated). */
static NlLab *
load (const char *relative, ...)
{
  g_autoptr (GHashTable) overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  NlLab *lab;
  va_list ap;

  if (g_str_has_prefix (relative, "templates/"))
    path = g_build_filename (NL_SOURCE_ROOT, relative, NULL);
  else
    path = nl_test_data_path (relative);
  va_start (ap, relative);
  for (const char *s = va_arg (ap, const char *); s; s = va_arg (ap, const char *))
    ck_assert (nl_template_parse_override (overrides, s, NULL));
  va_end (ap);
  lab = nl_template_load (path, overrides, &error);
  ck_assert_msg (lab != NULL, "%s", error ? error->message : "?");
  return lab;
}

static NlLab *
load_ad (const char *memory)
{
  g_autofree char *m = g_strdup_printf ("memory=%s", memory ? memory : "1GiB");
  return load ("lab/ad.xml", m, NULL);
}

static NlLabOptions opts = { .create_missing_images = TRUE };

static NlPlan *
plan_of (virConnectPtr conn, const NlLab *lab)
{
  g_autoptr (GError) error = NULL;
  NlPlan *plan = nl_lab_plan_up (conn, lab, &opts, &error);
  ck_assert_msg (plan != NULL, "%s", error ? error->message : "?");
  return plan;
}

static void
up (virConnectPtr conn, const NlLab *lab)
{
  g_autoptr (NlPlan) plan = plan_of (conn, lab);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  ck_assert_msg (nl_lab_up (conn, plan, &opts, report, &error), "%s", error ? error->message : "?");
}

static NlPlanItem *
item (const NlPlan *plan, NlObjectKind kind, const char *name)
{
  for (guint i = 0; i < plan->items->len; i++)
    {
      NlPlanItem *it = plan->items->pdata[i];
      if (it->kind == kind && strcmp (it->name, name) == 0)
        return it;
    }
  ck_abort_msg ("no plan item %s %s", nl_object_kind_to_string (kind), name);
  return NULL;
}

static void
define_foreign_domain (virConnectPtr conn, const char *name)
{
  g_autofree char *xml = g_strdup_printf ("<domain type='test'><name>%s</name><memory>65536</memory>"
                                          "<os><type>hvm</type></os></domain>", name);
  g_autoptr (virDomain) dom = virDomainDefineXML (conn, xml);
  ck_assert (dom != NULL);
}

static void
define_foreign_network (virConnectPtr conn, const char *name)
{
  g_autofree char *xml = g_strdup_printf ("<network><name>%s</name><bridge name='nlforeign0'/></network>", name);
  g_autoptr (virNetwork) net = virNetworkDefineXML (conn, xml);
  ck_assert (net != NULL);
}

static gboolean
domain_exists (virConnectPtr conn, const char *name)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, name);
  virResetLastError ();
  return dom != NULL;
}

static gboolean
network_exists (virConnectPtr conn, const char *name)
{
  g_autoptr (virNetwork) net = virNetworkLookupByName (conn, name);
  virResetLastError ();
  return net != NULL;
}

static gboolean
volume_exists (virConnectPtr conn, const char *pool_name, const char *name)
{
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, pool_name);
  g_autoptr (virStorageVol) vol = pool ? virStorageVolLookupByName (pool, name) : NULL;
  virResetLastError ();
  return vol != NULL;
}

START_TEST (fresh_lab_plans_everything_as_create)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = plan_of (conn, lab);

  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_UPDATE), 0);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_CONFLICT), 0);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_UNCHANGED), 0);
  /* pool, golden placeholder, network, 5 domains, 5 disks, 5 config disks */
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_CREATE), 18);
  ck_assert_int_eq (item (plan, NL_OBJECT_VOLUME, "ad-dc01-config.iso")->action, NL_PLAN_CREATE);
  ck_assert_int_eq (item (plan, NL_OBJECT_DOMAIN, "ad-dc01")->action, NL_PLAN_CREATE);
  ck_assert_int_eq (item (plan, NL_OBJECT_VOLUME, "ad-app02-disk0.qcow2")->action, NL_PLAN_CREATE);
  ck_assert_int_eq (item (plan, NL_OBJECT_NETWORK, "ad-corp")->action, NL_PLAN_CREATE);
}
END_TEST

START_TEST (after_up_everything_is_unchanged_and_running)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) again = NULL;
  g_autoptr (virDomain) dom = NULL;

  up (conn, lab);
  again = plan_of (conn, lab);
  ck_assert_uint_eq (nl_plan_count (again, NL_PLAN_CREATE), 0);
  ck_assert_uint_eq (nl_plan_count (again, NL_PLAN_UPDATE), 0);
  ck_assert_uint_eq (nl_plan_count (again, NL_PLAN_UNCHANGED), again->items->len);
  dom = virDomainLookupByName (conn, "ad-app02");
  ck_assert (dom != NULL);
  ck_assert_int_eq (virDomainIsActive (dom), 1);
}
END_TEST

START_TEST (second_up_changes_nothing)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;

  up (conn, lab);
  plan = plan_of (conn, lab);
  ck_assert (nl_lab_up (conn, plan, &opts, report, &error));
  ck_assert_uint_eq (report->done, 0);
  ck_assert_uint_eq (report->failures->len, 0);
}
END_TEST

START_TEST (changed_memory_updates_in_place_and_keeps_the_uuid)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlLab) bigger = load_ad ("2GiB");
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlPlan) after = NULL;
  g_autoptr (virDomain) before_dom = NULL;
  g_autoptr (virDomain) after_dom = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  char uuid1[VIR_UUID_STRING_BUFLEN], uuid2[VIR_UUID_STRING_BUFLEN];

  up (conn, lab);
  before_dom = virDomainLookupByName (conn, "ad-dc01");
  virDomainGetUUIDString (before_dom, uuid1);
  plan = plan_of (conn, bigger);
  ck_assert_int_eq (item (plan, NL_OBJECT_DOMAIN, "ad-dc01")->action, NL_PLAN_UPDATE);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_UPDATE), 5);
  /* The network and volumes did not change. */
  ck_assert_int_eq (item (plan, NL_OBJECT_NETWORK, "ad-corp")->action, NL_PLAN_UNCHANGED);
  ck_assert_int_eq (item (plan, NL_OBJECT_VOLUME, "ad-dc01-disk0.qcow2")->action, NL_PLAN_UNCHANGED);
  ck_assert (nl_lab_up (conn, plan, &opts, report, &error));
  after_dom = virDomainLookupByName (conn, "ad-dc01");
  virDomainGetUUIDString (after_dom, uuid2);
  ck_assert_str_eq (uuid1, uuid2);
  {
    /* A running machine gets it at its next start: the persistent config has it. */
    g_autofree char *xml = virDomainGetXMLDesc (after_dom, VIR_DOMAIN_XML_INACTIVE);
    ck_assert_msg (strstr (xml, "<memory unit='KiB'>2097152</memory>") != NULL, "%s", xml);
  }
  after = plan_of (conn, bigger);
  ck_assert_uint_eq (nl_plan_count (after, NL_PLAN_UPDATE), 0);
}
END_TEST

/* Each machine's config disk is listed in its mark, records the digest of
 * what it holds once made, and is made again (and only it) when that
 * changes: here a generated secret. */
START_TEST (config_disks_follow_what_they_hold)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (NlOwnership) own = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *xml = NULL;

  up (conn, lab);
  dom = virDomainLookupByName (conn, "ad-app01");
  ck_assert (nl_virt_domain_ownership (dom, &own, &error));
  ck_assert (nl_ownership_lists_volume (own, "default", "ad-app01-config.iso"));
  ck_assert_ptr_nonnull (own->media);
  ck_assert (volume_exists (conn, "default", "ad-app01-config.iso"));
  xml = virDomainGetXMLDesc (dom, 0);
  ck_assert_msg (strstr (xml, "device='cdrom'") != NULL && strstr (xml, "ad-app01-config.iso") != NULL, "%s", xml);
  /* A new value for the lab's generated password. */
  dir = nl_secret_lab_dir (NULL, "ad");
  secret = g_build_filename (dir, "admin", NULL);
  ck_assert (g_file_set_contents (secret, "Another-Secret-Value-1", -1, NULL));
  ck_assert_int_eq (chmod (secret, 0600), 0);
  plan = plan_of (conn, lab);
  ck_assert_int_eq (item (plan, NL_OBJECT_VOLUME, "ad-app01-config.iso")->action, NL_PLAN_UPDATE);
  ck_assert_int_eq (item (plan, NL_OBJECT_DOMAIN, "ad-app01")->action, NL_PLAN_UNCHANGED);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_UPDATE), 5);
  ck_assert (nl_lab_up (conn, plan, &opts, report, &error));
  g_clear_pointer (&plan, nl_plan_free);
  plan = plan_of (conn, lab);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_UNCHANGED), plan->items->len);
  /* Its domain never held the secret. */
  g_free (xml);
  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  ck_assert (strstr (xml, "Another-Secret-Value-1") == NULL);
  /* destroy removes the config disks with the rest. */
  ck_assert (nl_lab_destroy (conn, "ad", NULL, report, &error));
  ck_assert (!volume_exists (conn, "default", "ad-app01-config.iso"));
  /* Start the other cases from a generated secret again. */
  ck_assert_int_eq (g_unlink (secret), 0);
}
END_TEST

START_TEST (foreign_domain_with_a_colliding_name_is_a_conflict_and_up_refuses)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;

  define_foreign_domain (conn, "ad-sql01");
  plan = plan_of (conn, lab);
  ck_assert_int_eq (item (plan, NL_OBJECT_DOMAIN, "ad-sql01")->action, NL_PLAN_CONFLICT);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_CONFLICT), 1);
  ck_assert (!nl_lab_up (conn, plan, &opts, report, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_CONFLICT));
  ck_assert_msg (strstr (error->message, "'ad-sql01'") != NULL, "%s", error->message);
  /* Nothing changed: no network, no other domain, the foreign one untouched. */
  ck_assert (!network_exists (conn, "ad-corp"));
  ck_assert (!domain_exists (conn, "ad-dc01"));
  ck_assert (domain_exists (conn, "ad-sql01"));
}
END_TEST

START_TEST (foreign_network_and_volume_are_conflicts)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlLab) other = load ("lab/ad.xml", "lab=other", NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (virStoragePool) pool = NULL;
  g_autoptr (virStorageVol) vol = NULL;

  up (conn, other);   /* makes the pool, and a lab that is not 'ad' */
  define_foreign_network (conn, "ad-corp");
  pool = virStoragePoolLookupByName (conn, "default");
  vol = virStorageVolCreateXML (pool, "<volume><name>ad-dc02-disk0.qcow2</name><capacity>1024</capacity>"
                                "<allocation>0</allocation><target><format type='qcow2'/></target></volume>", 0);
  ck_assert (vol != NULL);
  plan = plan_of (conn, lab);
  ck_assert_int_eq (item (plan, NL_OBJECT_NETWORK, "ad-corp")->action, NL_PLAN_CONFLICT);
  ck_assert_int_eq (item (plan, NL_OBJECT_VOLUME, "ad-dc02-disk0.qcow2")->action, NL_PLAN_CONFLICT);
  ck_assert_int_eq (item (plan, NL_OBJECT_DOMAIN, "ad-dc02")->action, NL_PLAN_CREATE);
  /* A volume named like a machine's config disk is not adopted either. */
  {
    g_autoptr (virStorageVol) iso = virStorageVolCreateXML (pool, "<volume><name>ad-app01-config.iso</name>"
                                                            "<capacity>1024</capacity></volume>", 0);
    g_autoptr (NlPlan) again = NULL;
    ck_assert (iso != NULL);
    again = plan_of (conn, lab);
    ck_assert_int_eq (item (again, NL_OBJECT_VOLUME, "ad-app01-config.iso")->action, NL_PLAN_CONFLICT);
  }
}
END_TEST

START_TEST (destroy_removes_the_lab_and_leaves_foreign_objects_alone)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlLab) other = load ("lab/ad.xml", "lab=adx", NULL);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (virStoragePool) pool = NULL;
  g_autoptr (virStorageVol) vol = NULL;
  g_autoptr (GPtrArray) left = NULL;

  up (conn, lab);
  up (conn, other);
  /* Colliding-looking names that nestlab did not make. */
  define_foreign_domain (conn, "ad-dc03");
  define_foreign_network (conn, "ad-corp2");
  pool = virStoragePoolLookupByName (conn, "default");
  vol = virStorageVolCreateXML (pool, "<volume><name>ad-dc03-disk0.qcow2</name><capacity>1024</capacity>"
                                "<allocation>0</allocation><target><format type='qcow2'/></target></volume>", 0);
  ck_assert (vol != NULL);

  ck_assert_msg (nl_lab_destroy (conn, "ad", NULL, report, &error), "%s", error ? error->message : "");
  ck_assert (!domain_exists (conn, "ad-dc01"));
  ck_assert (!domain_exists (conn, "ad-app02"));
  ck_assert (!network_exists (conn, "ad-corp"));
  ck_assert (!volume_exists (conn, "default", "ad-dc01-disk0.qcow2"));
  ck_assert (!volume_exists (conn, "default", "ad-app01-disk0.qcow2"));
  /* Foreign objects and the other lab are untouched, and so is the golden image. */
  ck_assert (domain_exists (conn, "ad-dc03"));
  ck_assert (network_exists (conn, "ad-corp2"));
  ck_assert (volume_exists (conn, "default", "ad-dc03-disk0.qcow2"));
  ck_assert (volume_exists (conn, "default", "ad-base.qcow2"));
  ck_assert (domain_exists (conn, "adx-dc01"));
  ck_assert (network_exists (conn, "adx-corp"));
  ck_assert (volume_exists (conn, "default", "adx-dc01-disk0.qcow2"));
  left = nl_lab_destroy_plan (conn, "ad", &error);
  ck_assert_uint_eq (left->len, 0);
  /* A second destroy finds no lab, and says so. */
  ck_assert (!nl_lab_destroy (conn, "ad", NULL, report, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
}
END_TEST

START_TEST (destroy_of_an_unknown_lab_is_not_found)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;

  define_foreign_domain (conn, "nolab-dc01");
  ck_assert (!nl_lab_destroy (conn, "nolab", NULL, report, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
  ck_assert (domain_exists (conn, "nolab-dc01"));
}
END_TEST

START_TEST (up_repairs_a_half_built_lab)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (virNetwork) net = NULL;
  g_autoptr (virStoragePool) pool = NULL;
  g_autoptr (virStorageVol) vol = NULL;

  up (conn, lab);
  /* A machine off, a disk and the network gone, as after a crash. */
  dom = virDomainLookupByName (conn, "ad-app01");
  ck_assert_int_eq (virDomainDestroy (dom), 0);
  pool = virStoragePoolLookupByName (conn, "default");
  vol = virStorageVolLookupByName (pool, "ad-sql01-disk0.qcow2");
  ck_assert_int_eq (virStorageVolDelete (vol, 0), 0);
  net = virNetworkLookupByName (conn, "ad-corp");
  virNetworkDestroy (net);
  ck_assert_int_eq (virNetworkUndefine (net), 0);
  plan = plan_of (conn, lab);
  ck_assert_int_eq (item (plan, NL_OBJECT_VOLUME, "ad-sql01-disk0.qcow2")->action, NL_PLAN_CREATE);
  ck_assert_int_eq (item (plan, NL_OBJECT_NETWORK, "ad-corp")->action, NL_PLAN_CREATE);
  ck_assert_int_eq (item (plan, NL_OBJECT_DOMAIN, "ad-app01")->action, NL_PLAN_UNCHANGED);
  up (conn, lab);
  ck_assert_int_eq (virDomainIsActive (dom), 1);
  ck_assert (volume_exists (conn, "default", "ad-sql01-disk0.qcow2"));
  ck_assert (network_exists (conn, "ad-corp"));
}
END_TEST

START_TEST (a_volume_no_marked_domain_lists_is_never_adopted)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (virDomain) dom = NULL;

  up (conn, lab);
  /* Someone undefines a machine by hand: its disk is now nobody's. */
  dom = virDomainLookupByName (conn, "ad-app01");
  virDomainDestroy (dom);
  ck_assert_int_eq (virDomainUndefine (dom), 0);
  plan = plan_of (conn, lab);
  ck_assert_int_eq (item (plan, NL_OBJECT_DOMAIN, "ad-app01")->action, NL_PLAN_CREATE);
  ck_assert_int_eq (item (plan, NL_OBJECT_VOLUME, "ad-app01-disk0.qcow2")->action, NL_PLAN_CONFLICT);
}
END_TEST

START_TEST (interrupted_up_completes_on_the_next_run)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlPlan) again = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  NlLabOptions o = opts;

  plan = plan_of (conn, lab);
  o.cancellable = cancel;
  g_cancellable_cancel (cancel);
  ck_assert (!nl_lab_up (conn, plan, &o, report, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_CANCELLED));
  again = plan_of (conn, lab);
  ck_assert_uint_eq (nl_plan_count (again, NL_PLAN_CONFLICT), 0);
  up (conn, lab);
  {
    g_autoptr (NlPlan) done = plan_of (conn, lab);
    ck_assert_uint_eq (nl_plan_count (done, NL_PLAN_UNCHANGED), done->items->len);
  }
}
END_TEST

START_TEST (missing_golden_image_is_named)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (GError) error = NULL;
  NlLabOptions o = { 0 };
  g_autoptr (NlPlan) plan = nl_lab_plan_up (conn, lab, &o, &error);

  ck_assert (plan == NULL);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
  ck_assert_msg (strstr (error->message, "'base'") && strstr (error->message, "ad-base.qcow2")
                 && strstr (error->message, "'default'"), "%s", error->message);
}
END_TEST

static void
record_order (const NlProgress *p, gpointer data)
{
  if (p->kind == NL_OBJECT_DOMAIN && p->error == NULL)
    g_ptr_array_add (data, g_strdup (p->name));
}

START_TEST (checkpoint_takes_domain_controllers_last_and_revert_brings_them_back_first)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (GPtrArray) order = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  NlLabOptions o = { .progress = record_order };

  up (conn, lab);
  order = nl_lab_checkpoint_order (conn, "ad", FALSE, &error);
  ck_assert_uint_eq (order->len, 5);
  ck_assert_str_eq (order->pdata[3], "ad-dc02");
  ck_assert_str_eq (order->pdata[4], "ad-dc01");
  g_ptr_array_unref (order);
  order = nl_lab_checkpoint_order (conn, "ad", TRUE, &error);
  ck_assert_str_eq (order->pdata[0], "ad-dc01");
  ck_assert_str_eq (order->pdata[1], "ad-dc02");

  o.progress_data = seen;
  ck_assert_msg (nl_lab_checkpoint (conn, "ad", "clean", &o, report, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (seen->len, 5);
  ck_assert_str_eq (seen->pdata[3], "ad-dc02");
  ck_assert_str_eq (seen->pdata[4], "ad-dc01");

  g_ptr_array_set_size (seen, 0);
  ck_assert_msg (nl_lab_revert (conn, "ad", "clean", &o, report, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (seen->len, 5);
  ck_assert_str_eq (seen->pdata[0], "ad-dc01");
  ck_assert_str_eq (seen->pdata[1], "ad-dc02");
}
END_TEST

START_TEST (revert_brings_back_the_running_state_and_keeps_the_record)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) statuses = NULL;

  up (conn, lab);
  ck_assert (nl_lab_checkpoint (conn, "ad", "clean", NULL, report, &error));
  /* Taking it again is a no-op (an interrupted run completes). */
  ck_assert (nl_lab_checkpoint (conn, "ad", "clean", NULL, report, &error));
  dom = virDomainLookupByName (conn, "ad-sql01");
  ck_assert_int_eq (virDomainDestroy (dom), 0);
  ck_assert_int_eq (virDomainIsActive (dom), 0);
  ck_assert_msg (nl_lab_revert (conn, "ad", "clean", NULL, report, &error), "%s", error ? error->message : "");
  ck_assert_int_eq (virDomainIsActive (dom), 1);
  list = nl_lab_checkpoint_list (conn, "ad", &error);
  ck_assert_uint_eq (list->len, 1);
  /* All five ran when it was taken: all five hold their memory. */
  {
    NlCheckpointSummary *c = list->pdata[0];
    ck_assert_str_eq (c->name, "clean");
    ck_assert_uint_eq (c->held, 5);
    ck_assert_uint_eq (c->machines, 5);
    ck_assert_int_eq (c->mode, NL_CHECKPOINT_INTERNAL);
    ck_assert (!c->mixed);
    ck_assert_uint_eq (c->with_memory, 5);
    ck_assert_ptr_nonnull (c->created);
  }
  statuses = nl_lab_status (conn, "ad", &error);
  ck_assert_uint_eq (statuses->len, 1);
  ck_assert_uint_eq (((NlMachineStatus *) ((NlLabStatus *) statuses->pdata[0])->machines->pdata[0])->checkpoints->len, 1);
  ck_assert (nl_lab_checkpoint_delete (conn, "ad", "clean", NULL, report, &error));
  g_ptr_array_unref (list);
  list = nl_lab_checkpoint_list (conn, "ad", &error);
  ck_assert_uint_eq (list->len, 0);
}
END_TEST

/* A revert that libvirt finishes after nestlab was killed (found by the
 * kill campaigns, tests/system/campaign-lab.sh). This file's own
 * virDomainRevertToSnapshot stands in for libvirt's, as libvirt's tests
 * mock its functions: while revert_dies is set it reverts, then fails as a
 * dead client would, so nothing nestlab does after a revert happens. */
static gboolean revert_dies;

int
virDomainRevertToSnapshot (virDomainSnapshotPtr snapshot, unsigned int flags)
{
  static int (*real) (virDomainSnapshotPtr, unsigned int);
  int rc;

  if (real == NULL)
    *(void **) &real = dlsym (RTLD_NEXT, "virDomainRevertToSnapshot");
  rc = real (snapshot, flags);
  return revert_dies ? -1 : rc;
}

START_TEST (a_revert_killed_after_libvirt_reverted_completes_on_the_next_run)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (NlReport) rerun = nl_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;

  up (conn, lab);
  ck_assert (nl_lab_checkpoint (conn, "ad", "first", NULL, report, &error));
  ck_assert (nl_lab_checkpoint (conn, "ad", "second", NULL, report, &error));
  revert_dies = TRUE;
  ck_assert (!nl_lab_revert (conn, "ad", "first", NULL, report, &error));
  revert_dies = FALSE;
  g_clear_error (&error);
  /* The machine libvirt reverted still records both checkpoints. */
  ck_assert_msg (nl_lab_revert (conn, "ad", "first", NULL, rerun, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (rerun->done, 5);
  list = nl_lab_checkpoint_list (conn, "ad", &error);
  ck_assert_uint_eq (list->len, 2);
  ck_assert_str_eq (((NlCheckpointSummary *) list->pdata[0])->name, "first");
  ck_assert_uint_eq (((NlCheckpointSummary *) list->pdata[0])->held, 5);
  ck_assert_str_eq (((NlCheckpointSummary *) list->pdata[1])->name, "second");
  ck_assert_uint_eq (((NlCheckpointSummary *) list->pdata[1])->held, 5);
}
END_TEST

/* libvirt finishing the undefine of a destroy that was killed, just before
 * the rerun's own: while undefine_twice is set, this file's
 * virDomainUndefineFlags undefines the domain, then fails as libvirt does
 * on a domain that is gone. */
static gboolean undefine_twice;

int
virDomainUndefineFlags (virDomainPtr domain, unsigned int flags)
{
  static int (*real) (virDomainPtr, unsigned int);

  if (real == NULL)
    *(void **) &real = dlsym (RTLD_NEXT, "virDomainUndefineFlags");
  if (undefine_twice && real (domain, flags) < 0)
    return -1;
  return real (domain, flags);
}

START_TEST (destroy_completes_when_libvirt_removes_a_domain_under_it)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;

  up (conn, lab);
  undefine_twice = TRUE;
  ck_assert_msg (nl_lab_destroy (conn, "ad", NULL, report, &error), "%s", error ? error->message : "");
  undefine_twice = FALSE;
  ck_assert_uint_eq (report->failures->len, 0);
  ck_assert (!domain_exists (conn, "ad-dc01"));
  ck_assert (!network_exists (conn, "ad-corp"));
}
END_TEST

/* A machine libvirt is still starting for a killed `up` (paused, starting
 * up): while starting_polls is above 0, this file's virDomainGetState says
 * so of starting_domain, counting down on each call. */
static const char *starting_domain;
static guint starting_polls;

int
virDomainGetState (virDomainPtr domain, int *state, int *reason, unsigned int flags)
{
  static int (*real) (virDomainPtr, int *, int *, unsigned int);

  if (real == NULL)
    *(void **) &real = dlsym (RTLD_NEXT, "virDomainGetState");
  if (starting_polls > 0 && g_strcmp0 (virDomainGetName (domain), starting_domain) == 0)
    {
      starting_polls--;
      *state = VIR_DOMAIN_PAUSED;
      if (reason)
        *reason = VIR_DOMAIN_PAUSED_STARTING_UP;
      return 0;
    }
  return real (domain, state, reason, flags);
}

START_TEST (up_waits_for_a_start_libvirt_is_still_carrying_out)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;

  up (conn, lab);
  starting_domain = "ad-dc01";
  starting_polls = 5;
  plan = plan_of (conn, lab);
  ck_assert_msg (nl_lab_up (conn, plan, &opts, report, &error), "%s", error ? error->message : "");
  /* up returned only once libvirt no longer said it was starting. */
  ck_assert_uint_eq (starting_polls, 0);
  starting_domain = NULL;
}
END_TEST

START_TEST (revert_to_an_unknown_checkpoint_changes_nothing)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;

  up (conn, lab);
  ck_assert (!nl_lab_revert (conn, "ad", "nope", NULL, report, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
  ck_assert_uint_eq (report->done, 0);
}
END_TEST

START_TEST (status_finds_labs_from_their_marks_only)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (GPtrArray) statuses = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  NlLabStatus *s;

  up (conn, lab);
  define_foreign_domain (conn, "ad-foreign");
  statuses = nl_lab_status (conn, NULL, &error);
  ck_assert_uint_eq (statuses->len, 1);
  s = statuses->pdata[0];
  ck_assert_str_eq (s->name, "ad");
  ck_assert_uint_eq (s->machines->len, 5);
  ck_assert_str_eq (((NlMachineStatus *) s->machines->pdata[0])->name, "dc01");
  ck_assert_str_eq (((NlMachineStatus *) s->machines->pdata[0])->state, "running");
  ck_assert_uint_eq (s->networks->len, 1);
  json = nl_lab_status_to_json (statuses);
  ck_assert_msg (strstr (json, "\"name\": \"ad\"") && strstr (json, "\"role\": \"domain-controller\"")
                 && !strstr (json, "ad-foreign"), "%s", json);
}
END_TEST

START_TEST (status_shows_each_machines_patch_level)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (GPtrArray) statuses = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (virDomain) dom = NULL;
  g_autofree char *json = NULL;
  const char *first[] = { "KB5001", NULL };
  const char *second[] = { "KB5002", "KB5003", NULL };
  NlMachineStatus *dc = NULL, *other = NULL;

  up (conn, lab);
  dom = virDomainLookupByName (conn, "ad-dc01");
  ck_assert (dom != NULL);
  ck_assert_msg (nl_virt_patches_record (dom, "run-a", first, &error), "%s", error ? error->message : "");
  ck_assert_msg (nl_virt_patches_record (dom, "run-b", second, &error), "%s", error ? error->message : "");
  statuses = nl_lab_status (conn, "ad", &error);
  ck_assert_uint_eq (statuses->len, 1);
  for (guint i = 0; i < ((NlLabStatus *) statuses->pdata[0])->machines->len; i++)
    {
      NlMachineStatus *m = ((NlLabStatus *) statuses->pdata[0])->machines->pdata[i];
      if (strcmp (m->domain, "ad-dc01") == 0)
        dc = m;
      else
        other = m;
    }
  ck_assert (dc != NULL && other != NULL);
  ck_assert_uint_eq (dc->patches->len, 3);
  ck_assert_str_eq (((NlPatchRecord *) dc->patches->pdata[0])->id, "KB5001");
  ck_assert_str_eq (((NlPatchRecord *) dc->patches->pdata[0])->run, "run-a");
  ck_assert_str_eq (((NlPatchRecord *) dc->patches->pdata[2])->id, "KB5003");
  ck_assert_str_eq (((NlPatchRecord *) dc->patches->pdata[2])->run, "run-b");
  ck_assert (((NlPatchRecord *) dc->patches->pdata[2])->installed != NULL);
  ck_assert_uint_eq (other->patches->len, 0);
  json = nl_lab_status_to_json (statuses);
  ck_assert_msg (strstr (json, "\"patches\": [{\"id\": \"KB5001\", \"run\": \"run-a\"") != NULL, "%s", json);
  ck_assert_msg (strstr (json, "\"patches\": []") != NULL, "%s", json);
}
END_TEST

START_TEST (libvirts_reason_survives_a_libvirt_call_in_the_message_arguments)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (GError) error = NULL;

  ck_assert (dom != NULL);
  /* The test driver has no backup API: libvirt says so, and the name of the
   * domain, fetched through libvirt for the message, must not erase that. */
  ck_assert_int_lt (virDomainBackupBegin (dom, "<domainbackup/>", NULL, 0), 0);
  nl_virt_set_error (&error, "starting the backup of '%s'", virDomainGetName (dom));
  ck_assert_msg (strstr (error->message, "starting the backup of 'test': ") != NULL, "%s",
                 error->message);
  ck_assert_msg (strstr (error->message, "not supported") != NULL, "%s", error->message);
  ck_assert (virGetLastError () == NULL);
}
END_TEST

START_TEST (down_stops_every_machine)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load_ad (NULL);
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (virDomain) dom = NULL;
  NlLabOptions o = { .timeout = 5 };

  up (conn, lab);
  define_foreign_domain (conn, "ad-foreign");
  ck_assert_msg (nl_lab_down (conn, "ad", &o, report, &error), "%s", error ? error->message : "");
  ck_assert_uint_eq (report->done, 5);
  dom = virDomainLookupByName (conn, "ad-dc01");
  ck_assert_int_eq (virDomainIsActive (dom), 0);
}
END_TEST

START_TEST (the_demo_lab_comes_up_on_the_test_driver)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load ("templates/scvmm-demo.xml", NULL);
  g_autoptr (NlPlan) plan = NULL;

  up (conn, lab);
  plan = plan_of (conn, lab);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_UNCHANGED), plan->items->len);
}
END_TEST

/* Names of the volumes in POOL that start with PREFIX. */
static GPtrArray *
volumes_with_prefix (virConnectPtr conn, const char *pool_name, const char *prefix)
{
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, pool_name);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  virStorageVolPtr *vols = NULL;
  int n;

  ck_assert (pool != NULL);
  ck_assert (virStoragePoolRefresh (pool, 0) == 0);
  n = virStoragePoolListAllVolumes (pool, &vols, 0);
  ck_assert_int_ge (n, 0);
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virStorageVolGetName (vols[i]), prefix))
        g_ptr_array_add (names, g_strdup (virStorageVolGetName (vols[i])));
      virStorageVolFree (vols[i]);
    }
  free (vols);
  return names;
}

START_TEST (cluster_lab_converges_and_destroy_removes_its_shared_disks)
{
  g_autoptr (virConnect) conn = connect_test ();
  g_autoptr (NlLab) lab = load ("templates/failover-cluster.xml", NULL);
  g_autoptr (NlPlan) plan = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;
  guint shared = 0;

  up (conn, lab);
  /* A second up adopts the shared volumes the first one made. */
  plan = plan_of (conn, lab);
  ck_assert_uint_eq (nl_plan_count (plan, NL_PLAN_UNCHANGED), plan->items->len);
  before = volumes_with_prefix (conn, "default", "hv-cluster-");
  for (guint i = 0; i < before->len; i++)
    if (strstr (before->pdata[i], "witness") || strstr (before->pdata[i], "csv"))
      shared++;
  ck_assert_msg (shared == 3, "expected the witness and two CSV volumes, found %u", shared);
  ck_assert_msg (nl_lab_destroy (conn, "hv-cluster", NULL, report, &error), "%s",
                 error ? error->message : "");
  after = volumes_with_prefix (conn, "default", "hv-cluster-");
  ck_assert_msg (after->len == 0, "left behind: %s", after->len ? (char *) after->pdata[0] : "");
  ck_assert_uint_eq (report->failures->len, 0);
}
END_TEST

static Suite *
lab_suite (void)
{
  Suite *s = suite_create ("lab");
  TCase *tc = tcase_create ("lifecycle");

  tcase_add_test (tc, fresh_lab_plans_everything_as_create);
  tcase_add_test (tc, after_up_everything_is_unchanged_and_running);
  tcase_add_test (tc, second_up_changes_nothing);
  tcase_add_test (tc, changed_memory_updates_in_place_and_keeps_the_uuid);
  tcase_add_test (tc, config_disks_follow_what_they_hold);
  tcase_add_test (tc, foreign_domain_with_a_colliding_name_is_a_conflict_and_up_refuses);
  tcase_add_test (tc, foreign_network_and_volume_are_conflicts);
  tcase_add_test (tc, destroy_removes_the_lab_and_leaves_foreign_objects_alone);
  tcase_add_test (tc, destroy_of_an_unknown_lab_is_not_found);
  tcase_add_test (tc, up_repairs_a_half_built_lab);
  tcase_add_test (tc, a_volume_no_marked_domain_lists_is_never_adopted);
  tcase_add_test (tc, interrupted_up_completes_on_the_next_run);
  tcase_add_test (tc, missing_golden_image_is_named);
  tcase_add_test (tc, checkpoint_takes_domain_controllers_last_and_revert_brings_them_back_first);
  tcase_add_test (tc, revert_brings_back_the_running_state_and_keeps_the_record);
  tcase_add_test (tc, a_revert_killed_after_libvirt_reverted_completes_on_the_next_run);
  tcase_add_test (tc, revert_to_an_unknown_checkpoint_changes_nothing);
  tcase_add_test (tc, destroy_completes_when_libvirt_removes_a_domain_under_it);
  tcase_add_test (tc, up_waits_for_a_start_libvirt_is_still_carrying_out);
  tcase_add_test (tc, status_finds_labs_from_their_marks_only);
  tcase_add_test (tc, status_shows_each_machines_patch_level);
  tcase_add_test (tc, down_stops_every_machine);
  tcase_add_test (tc, libvirts_reason_survives_a_libvirt_call_in_the_message_arguments);
  tcase_add_test (tc, the_demo_lab_comes_up_on_the_test_driver);
  tcase_add_test (tc, cluster_lab_converges_and_destroy_removes_its_shared_disks);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (lab_suite)
