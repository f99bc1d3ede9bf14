/* Building a golden image, on libvirt's test driver, up to the boot and
 * back: the plan (edition, names, the mark listing every volume before it
 * exists), the run to the guest's own power-off (which the test driver
 * never does: the test shuts the domain down once it runs), finishing
 * (only the disk stays), and every way a build fails (timeout, a stop the
 * guest did not ask for, Ctrl-C) leaving nothing behind. Then the command
 * line on the same driver. Each case forks with its own driver state. */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include <nestlab/doc.h>
#include <nestlab/error.h>
#include <nestlab/image.h>
#include <nestlab/imagebuild.h>
#include <nestlab/iso.h>
#include <nestlab/media.h>
#include "virt-private.h"
#include "nl-test.h"

#define TEST_URI "test:///default"
#define POOL "default-pool"

static virConnectPtr
connect_test (void)
{
  g_autoptr (GError) error = NULL;
  virConnectPtr conn = nl_virt_connect (TEST_URI, &error);
  ck_assert_msg (conn != NULL, "%s", error ? error->message : "?");
  return conn;
}

static void
run_tool (const char *const *argv)
{
  g_autofree char *err = NULL;
  int status = 0;

  ck_assert_msg (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, &err, &status, NULL),
                 "%s did not run (scripts/setup.sh installs wimtools)", argv[0]);
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "%s failed: %s", argv[0], err);
}

static void
add_file (GPtrArray *files, const char *path, const char *file)
{
  NlMediaFile *f = g_new0 (NlMediaFile, 1);
  gchar *contents = NULL;
  gsize len = 0;

  ck_assert (g_file_get_contents (file, &contents, &len, NULL));
  f->path = g_strdup (path);
  f->data = g_bytes_new_take (contents, len);
  g_ptr_array_add (files, f);
}

static void
write_iso (const char *path, const char *label, GPtrArray *files)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) iso = nl_iso_build (label, files, &error);

  ck_assert_msg (iso != NULL, "%s", error ? error->message : "");
  ck_assert (g_file_set_contents (path, g_bytes_get_data (iso, NULL), g_bytes_get_size (iso), NULL));
}

/* In DIR: media.iso, Windows Server media with a WIM of two editions
 * (made with wimtools), and virtio-win.iso, with the agent and drivers. */
static void
make_media (const char *dir)
{
  g_autofree char *a = g_build_filename (dir, "std", NULL);
  g_autofree char *b = g_build_filename (dir, "dc", NULL);
  g_autofree char *fa = g_build_filename (a, "edition.txt", NULL);
  g_autofree char *fb = g_build_filename (b, "edition.txt", NULL);
  g_autofree char *wim = g_build_filename (dir, "install.wim", NULL);
  g_autofree char *blob = g_build_filename (dir, "blob", NULL);
  g_autofree char *media = g_build_filename (dir, "media.iso", NULL);
  g_autofree char *drivers = g_build_filename (dir, "virtio-win.iso", NULL);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_media_file_free);
  g_autoptr (GPtrArray) dfiles = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_media_file_free);

  ck_assert_int_eq (g_mkdir (a, 0700), 0);
  ck_assert_int_eq (g_mkdir (b, 0700), 0);
  ck_assert (g_file_set_contents (fa, "standard\n", -1, NULL));
  ck_assert (g_file_set_contents (fb, "datacenter\n", -1, NULL));
  run_tool ((const char *const[]) { "wimcapture", a, wim, "Windows Server 2022 SERVERSTANDARD",
                                    "--image-property", "WINDOWS/EDITIONID=ServerStandard", NULL });
  run_tool ((const char *const[]) { "wimappend", b, wim, "Windows Server 2022 SERVERDATACENTER",
                                    "--image-property", "WINDOWS/EDITIONID=ServerDatacenter", NULL });
  ck_assert (g_file_set_contents (blob, "MZ", -1, NULL));
  add_file (files, "setup.exe", blob);
  add_file (files, "sources/install.wim", wim);
  write_iso (media, "SSS_X64FREE_EN-US_DV9", files);
  add_file (dfiles, "guest-agent/qemu-ga-x86_64.msi", blob);
  add_file (dfiles, "viostor/2k22/amd64/viostor.inf", blob);
  add_file (dfiles, "NetKVM/2k22/amd64/netkvm.inf", blob);
  write_iso (drivers, "virtio-win-0.1.240", dfiles);
}

typedef struct {
  virConnectPtr conn;
  const char *domain;
  enum { STOP_SHUTDOWN, STOP_DESTROY, STOP_CANCEL, STOP_NEVER } how;
  GCancellable *cancellable;
  gboolean started;
  guint waits;
} Stopper;

/* Stands in for Windows: once the domain runs, it powers off (a guest
 * shutdown, as Sysprep's), is destroyed from outside, or the user
 * presses Ctrl-C. */
static void
stopper (NlImageBuildPhase phase, guint elapsed, gpointer data)
{
  Stopper *s = data;
  g_autoptr (virDomain) dom = NULL;

  if (phase == NL_IMAGE_BUILD_STARTED)
    s->started = TRUE;
  if (phase != NL_IMAGE_BUILD_WAITING || s->waits++ != 1)
    return;
  dom = virDomainLookupByName (s->conn, s->domain);
  ck_assert_ptr_nonnull (dom);
  ck_assert (virDomainIsActive (dom) == 1);
  if (s->how == STOP_SHUTDOWN)
    ck_assert_int_eq (virDomainShutdown (dom), 0);
  else if (s->how == STOP_DESTROY)
    ck_assert_int_eq (virDomainDestroy (dom), 0);
  else if (s->how == STOP_CANCEL)
    g_cancellable_cancel (s->cancellable);
}

typedef struct {
  NlTestDir *dir;
  char *iso;
  char *drivers;
  char *state;
  NlImageBuildOptions o;
  Stopper stop;
} Fixture;

static void
fixture_init (Fixture *f, virConnectPtr conn, NlFirmware firmware)
{
  f->dir = nl_test_dir_new ("nl-build-XXXXXX");
  make_media (f->dir);
  f->iso = g_build_filename (f->dir, "media.iso", NULL);
  f->drivers = g_build_filename (f->dir, "virtio-win.iso", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  f->o.name = "ws2022";
  f->o.os = "win2k22";
  f->o.iso = f->iso;
  f->o.edition = "ServerDatacenter";
  f->o.drivers = f->drivers;
  f->o.firmware = firmware;
  f->o.pool = POOL;
  f->o.size = G_GUINT64_CONSTANT (1) << 30;
  f->o.timeout = 30;
  f->o.state_dir = f->state;
  f->o.cancellable = g_cancellable_new ();
  f->o.progress = stopper;
  f->o.progress_data = &f->stop;
  f->stop.conn = conn;
  f->stop.domain = "nl-build-ws2022";
  f->stop.cancellable = f->o.cancellable;
}

static void
fixture_clear (Fixture *f)
{
  g_free (f->iso);
  g_free (f->drivers);
  g_free (f->state);
  g_object_unref (f->o.cancellable);
  nl_test_dir_free (f->dir);
}

static NlImageBuildPlan *
plan_of (virConnectPtr conn, const NlImageBuildOptions *o)
{
  g_autoptr (GError) error = NULL;
  NlImageBuildPlan *plan = nl_image_build_plan (conn, o, &error);
  ck_assert_msg (plan != NULL, "%s", error ? error->message : "?");
  return plan;
}

static gboolean
volume_exists (virConnectPtr conn, const char *name)
{
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, POOL);
  g_autoptr (virStorageVol) vol = pool ? virStorageVolLookupByName (pool, name) : NULL;
  virResetLastError ();
  return vol != NULL;
}

static gboolean
domain_exists (virConnectPtr conn, const char *name)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, name);
  virResetLastError ();
  return dom != NULL;
}

static void
assert_nothing_left (virConnectPtr conn)
{
  ck_assert_msg (!domain_exists (conn, "nl-build-ws2022"), "the build domain is left");
  ck_assert_msg (!volume_exists (conn, "ws2022.qcow2"), "the disk is left");
  ck_assert_msg (!volume_exists (conn, "nl-build-ws2022-answer.iso"), "the answer ISO is left");
}

/* The plan names the edition's index, and the domain it will define
 * lists both volumes in its mark: before either exists. */
START_TEST (plan_resolves_the_edition_and_lists_every_volume)
{
  g_autoptr (virConnect) conn = connect_test ();
  Fixture f = { 0 };
  g_autoptr (NlImageBuildPlan) plan = NULL;
  g_autoptr (NlOwnership) own = NULL;

  fixture_init (&f, conn, NL_FIRMWARE_UEFI);
  plan = plan_of (conn, &f.o);
  ck_assert_uint_eq (plan->index, 2);
  ck_assert_str_eq (plan->edition, "Windows Server 2022 SERVERDATACENTER");
  ck_assert_str_eq (plan->wim_path, "sources/install.wim");
  ck_assert_str_eq (plan->drivers_os, "2k22");
  ck_assert_str_eq (plan->domain, "nl-build-ws2022");
  ck_assert_str_eq (plan->volume, "ws2022.qcow2");
  ck_assert (!plan->leftover);
  ck_assert_ptr_nonnull (strstr (plan->autounattend, "[secret admin]"));
  ck_assert (nl_ownership_parse (plan->domain_xml, &own, NULL));
  ck_assert_ptr_nonnull (own);
  ck_assert_str_eq (own->lab, "image-build-ws2022");
  ck_assert (nl_ownership_lists_volume (own, POOL, "ws2022.qcow2"));
  ck_assert (nl_ownership_lists_volume (own, POOL, "nl-build-ws2022-answer.iso"));
  /* The three CD-ROMs, and the CD-ROM after the disk in the boot order. */
  ck_assert_ptr_nonnull (strstr (plan->domain_xml, f.iso));
  ck_assert_ptr_nonnull (strstr (plan->domain_xml, f.drivers));
  ck_assert_ptr_nonnull (strstr (plan->domain_xml, "<boot dev=\"hd\"/>\n    <boot dev=\"cdrom\"/>"));
  ck_assert_ptr_null (strstr (plan->domain_xml, "<interface"));
  /* Planning changed nothing. */
  assert_nothing_left (conn);
  fixture_clear (&f);
}
END_TEST

/* The guest powers itself off: the run succeeds with the domain shut off
 * and both volumes there; finishing keeps only the disk. */
START_TEST (a_build_that_powers_off_keeps_only_the_disk)
{
  g_autoptr (virConnect) conn = connect_test ();
  Fixture f = { 0 };
  g_autoptr (NlImageBuildPlan) plan = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *secret = NULL;
  struct stat st;

  fixture_init (&f, conn, _i == 0 ? NL_FIRMWARE_UEFI : NL_FIRMWARE_BIOS);
  f.stop.how = STOP_SHUTDOWN;
  plan = plan_of (conn, &f.o);
  ck_assert_msg (nl_image_build_run (conn, plan, &f.o, &error), "%s", error ? error->message : "");
  ck_assert (f.stop.started);
  ck_assert_ptr_nonnull (plan->created);
  ck_assert_uint_eq (strlen (plan->checksum), 64);
  ck_assert (domain_exists (conn, "nl-build-ws2022"));
  ck_assert (volume_exists (conn, "ws2022.qcow2"));
  ck_assert (volume_exists (conn, "nl-build-ws2022-answer.iso"));
  /* The password was generated and kept, private. */
  secret = g_build_filename (f.state, "secrets", "image-build-ws2022", "admin", NULL);
  ck_assert_msg (g_stat (secret, &st) == 0, "no secret at %s", secret);
  ck_assert_int_eq (st.st_mode & 077, 0);

  ck_assert_msg (nl_image_build_finish (conn, plan, &error), "%s", error ? error->message : "");
  ck_assert (!domain_exists (conn, "nl-build-ws2022"));
  ck_assert (!volume_exists (conn, "nl-build-ws2022-answer.iso"));
  ck_assert (volume_exists (conn, "ws2022.qcow2"));
  fixture_clear (&f);
}
END_TEST

/* A timeout of a second fails, and the build's domain and both volumes
 * are gone. */
START_TEST (a_timeout_fails_and_leaves_nothing)
{
  g_autoptr (virConnect) conn = connect_test ();
  Fixture f = { 0 };
  g_autoptr (NlImageBuildPlan) plan = NULL;
  g_autoptr (GError) error = NULL;

  fixture_init (&f, conn, NL_FIRMWARE_UEFI);
  f.stop.how = STOP_NEVER;
  f.o.timeout = 1;
  plan = plan_of (conn, &f.o);
  ck_assert (!nl_image_build_run (conn, plan, &f.o, &error));
  ck_assert (f.stop.started);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_FAILED));
  ck_assert_msg (strstr (error->message, "did not power off within 1 s") != NULL, "%s", error->message);
  assert_nothing_left (conn);
  fixture_clear (&f);
}
END_TEST

/* A stop the guest did not ask for is no finished build; Ctrl-C stops
 * it as a cancellation. Either way nothing is left. */
START_TEST (a_stop_from_outside_or_ctrl_c_fails_and_leaves_nothing)
{
  g_autoptr (virConnect) conn = connect_test ();
  Fixture f = { 0 };
  g_autoptr (NlImageBuildPlan) plan = NULL;
  g_autoptr (GError) error = NULL;

  fixture_init (&f, conn, NL_FIRMWARE_BIOS);
  f.stop.how = _i == 0 ? STOP_DESTROY : STOP_CANCEL;
  plan = plan_of (conn, &f.o);
  ck_assert (!nl_image_build_run (conn, plan, &f.o, &error));
  if (_i == 0)
    ck_assert_msg (strstr (error->message, "without powering itself off (destroyed)") != NULL, "%s",
                   error->message);
  else
    ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_CANCELLED));
  assert_nothing_left (conn);
  fixture_clear (&f);
}
END_TEST

/* What a build cut short leaves (its domain, listing both volumes) is
 * removed by the next build of that name before it starts. */
START_TEST (the_next_build_removes_what_an_interrupted_one_left)
{
  g_autoptr (virConnect) conn = connect_test ();
  Fixture f = { 0 };
  g_autoptr (NlImageBuildPlan) first = NULL;
  g_autoptr (NlImageBuildPlan) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (virDomain) dom = NULL;

  fixture_init (&f, conn, NL_FIRMWARE_UEFI);
  f.stop.how = STOP_SHUTDOWN;
  first = plan_of (conn, &f.o);
  ck_assert_msg (nl_image_build_run (conn, first, &f.o, &error), "%s", error ? error->message : "");
  /* Interrupted before finishing: restarted, as if still installing. */
  dom = virDomainLookupByName (conn, "nl-build-ws2022");
  ck_assert_int_eq (virDomainCreate (dom), 0);

  second = plan_of (conn, &f.o);
  ck_assert (second->leftover);
  f.stop.waits = 0;
  f.stop.started = FALSE;
  ck_assert_msg (nl_image_build_run (conn, second, &f.o, &error), "%s", error ? error->message : "");
  ck_assert (f.stop.started);
  ck_assert_msg (nl_image_build_finish (conn, second, &error), "%s", error ? error->message : "");
  ck_assert (!domain_exists (conn, "nl-build-ws2022"));
  ck_assert (volume_exists (conn, "ws2022.qcow2"));
  fixture_clear (&f);
}
END_TEST

/* What is not a build's is never touched: a domain of that name without
 * the mark, a volume of the image's name no build lists. */
START_TEST (what_is_not_the_builds_is_a_conflict)
{
  g_autoptr (virConnect) conn = connect_test ();
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (NlImageBuildPlan) plan = NULL;
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, POOL);
  g_autoptr (virStorageVol) vol = NULL;
  g_autoptr (virDomain) dom = NULL;

  fixture_init (&f, conn, NL_FIRMWARE_UEFI);
  if (_i == 0)
    {
      dom = virDomainDefineXML (conn, "<domain type='test'><name>nl-build-ws2022</name><memory>65536</memory>"
                                      "<os><type>hvm</type></os></domain>");
      ck_assert_ptr_nonnull (dom);
    }
  else
    {
      vol = virStorageVolCreateXML (pool, "<volume><name>ws2022.qcow2</name><capacity>1024</capacity>"
                                          "<target><format type='qcow2'/></target></volume>", 0);
      ck_assert_ptr_nonnull (vol);
    }
  plan = nl_image_build_plan (conn, &f.o, &error);
  ck_assert_ptr_null (plan);
  ck_assert_msg (g_error_matches (error, NL_ERROR, NL_ERROR_CONFLICT), "%s", error->message);
  ck_assert (_i != 0 || domain_exists (conn, "nl-build-ws2022"));
  ck_assert (_i != 1 || volume_exists (conn, "ws2022.qcow2"));
  fixture_clear (&f);
}
END_TEST

START_TEST (a_missing_edition_is_bad_input_listing_the_editions)
{
  g_autoptr (virConnect) conn = connect_test ();
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (NlImageBuildPlan) plan = NULL;

  fixture_init (&f, conn, NL_FIRMWARE_UEFI);
  f.o.edition = "Windows Server 2022 SERVERSTANDARDCORE";
  plan = nl_image_build_plan (conn, &f.o, &error);
  ck_assert_ptr_null (plan);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "SERVERSTANDARD (ServerStandard)")
                 && strstr (error->message, "SERVERDATACENTER (ServerDatacenter)"), "%s", error->message);
  fixture_clear (&f);
}
END_TEST

/* ---- the command line ----------------------------------------------------- */

static int
nestlab (char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  int status = 0;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) g_getenv ("NESTLAB"));
  va_start (ap, err);
  for (const char *a = va_arg (ap, const char *); a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  ck_assert (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, out, err, &status, NULL));
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

START_TEST (cli_dry_run_prints_the_plan_and_the_masked_answer_file)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-build-XXXXXX");
  g_autofree char *iso = NULL;
  g_autofree char *drivers = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  make_media (dir);
  iso = g_build_filename (dir, "media.iso", NULL);
  drivers = g_build_filename (dir, "virtio-win.iso", NULL);
  status = nestlab (&out, &err, "-c", TEST_URI, "image", "build", "--iso", iso, "--os", "win2k22",
                    "--edition", "2", "--drivers", drivers, "--firmware", "bios", "--pool", POOL,
                    "--name", "dc-golden", "--dry-run", NULL);
  ck_assert_msg (status == 0, "exit %d: %s", status, err);
  ck_assert_ptr_nonnull (strstr (out, "edition: Windows Server 2022 SERVERDATACENTER -> index 2 of sources/install.wim"));
  ck_assert_ptr_nonnull (strstr (out, "firmware: bios"));
  ck_assert_ptr_nonnull (strstr (out, "volume default-pool/dc-golden.qcow2"));
  ck_assert_ptr_nonnull (strstr (out, "domain nl-build-dc-golden"));
  ck_assert_ptr_nonnull (strstr (out, "<Value>[secret admin]</Value>"));
  ck_assert_ptr_nonnull (strstr (out, "Dry run: nothing changed."));
}
END_TEST

START_TEST (cli_refuses_bad_input_with_status_2)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-build-XXXXXX");
  g_autofree char *iso = NULL;
  static const char *const cases[][4] = {
    { "--edition", "nosuch", NULL, NULL },
    { "--firmware", "coreboot", NULL, NULL },
    { "--os", "debian12", NULL, NULL },
    { "--size", "lots", NULL, NULL },
    { "--timeout", "soon", NULL, NULL },
    { "--product-key", "ABC", NULL, NULL },
    { "--name", "no/slash", NULL, NULL },
  };

  make_media (dir);
  iso = g_build_filename (dir, "media.iso", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      const char *os = g_str_equal (cases[i][0], "--os") ? cases[i][1] : "win2k22";
      int status = nestlab (&out, &err, "-c", TEST_URI, "image", "build", "--iso", iso, "--os", os,
                            "--pool", POOL, "--dry-run", cases[i][0], cases[i][1], NULL);
      ck_assert_msg (status == 2, "%s %s: exit %d: %s", cases[i][0], cases[i][1], status, err);
      if (g_str_equal (cases[i][0], "--edition"))
        ck_assert_msg (strstr (err, "1  Windows Server 2022 SERVERSTANDARD") != NULL, "%s", err);
    }
  {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    ck_assert_int_eq (nestlab (&out, &err, "-c", TEST_URI, "image", "build", "--os", "win2k22", NULL), 2);
  }
}
END_TEST

/* A whole build through the command line: Setup never powers the test
 * driver's machine off, so a timeout of one second fails it, and the
 * process leaves nothing (its test driver state dies with it; what it
 * says is checked). */
START_TEST (cli_build_that_times_out_fails_cleanly)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-build-XXXXXX");
  g_autofree char *iso = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  make_media (dir);
  iso = g_build_filename (dir, "media.iso", NULL);
  status = nestlab (&out, &err, "-c", TEST_URI, "image", "build", "--iso", iso, "--os", "win2k22",
                    "--edition", "ServerStandard", "--pool", POOL, "--name", "cli-timeout",
                    "--timeout", "1s", NULL);
  ck_assert_msg (status == 1, "exit %d: %s%s", status, out, err);
  ck_assert_ptr_nonnull (strstr (out, "Started:"));
  ck_assert_ptr_nonnull (strstr (out, "Removing what the build made"));
  ck_assert_msg (strstr (err, "did not power off within 1 s") != NULL, "%s", err);
}
END_TEST

/* An image nestlab already knows is not built over: the build stops
 * before it touches libvirt. */
START_TEST (cli_refuses_a_name_nestlab_knows)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-build-XXXXXX");
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *iso = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (NlImageRecord) rec = nl_image_record_new ();
  g_autoptr (GError) error = NULL;
  int status;

  make_media (dir);
  iso = g_build_filename (dir, "media.iso", NULL);
  g_setenv ("NESTLAB_STATE_DIR", state, TRUE);
  rec->name = g_strdup ("known");
  rec->os = g_strdup ("win2k22");
  rec->pool = g_strdup (POOL);
  rec->volume = g_strdup ("known.qcow2");
  rec->firmware = g_strdup ("uefi");
  ck_assert_msg (nl_image_record_save (rec, &error), "%s", error ? error->message : "");
  status = nestlab (&out, &err, "-c", TEST_URI, "image", "build", "--iso", iso, "--os", "win2k22",
                    "--edition", "1", "--pool", POOL, "--name", "known", NULL);
  ck_assert_msg (status == 1, "exit %d: %s", status, err);
  ck_assert_msg (strstr (err, "already has an image 'known'") != NULL, "%s", err);
}
END_TEST

static Suite *
image_build_suite (void)
{
  Suite *s = suite_create ("image-build");
  TCase *tc = tcase_create ("build");
  TCase *cli = tcase_create ("cli");

  tcase_add_test (tc, plan_resolves_the_edition_and_lists_every_volume);
  tcase_add_loop_test (tc, a_build_that_powers_off_keeps_only_the_disk, 0, 2);
  tcase_add_test (tc, a_timeout_fails_and_leaves_nothing);
  tcase_add_loop_test (tc, a_stop_from_outside_or_ctrl_c_fails_and_leaves_nothing, 0, 2);
  tcase_add_test (tc, the_next_build_removes_what_an_interrupted_one_left);
  tcase_add_loop_test (tc, what_is_not_the_builds_is_a_conflict, 0, 2);
  tcase_add_test (tc, a_missing_edition_is_bad_input_listing_the_editions);
  suite_add_tcase (s, tc);

  tcase_add_test (cli, cli_dry_run_prints_the_plan_and_the_masked_answer_file);
  tcase_add_test (cli, cli_refuses_bad_input_with_status_2);
  tcase_add_test (cli, cli_build_that_times_out_fails_cleanly);
  tcase_add_test (cli, cli_refuses_a_name_nestlab_knows);
  suite_add_tcase (s, cli);
  return s;
}

NL_TEST_MAIN (image_build_suite)
