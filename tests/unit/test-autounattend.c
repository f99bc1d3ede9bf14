/* Building golden images from Windows install media, the parts that run
 * without Windows: golden Autounattend.xml files (UEFI and BIOS, with and
 * without the drivers media), their structure as Windows Setup reads it,
 * the password kept out of masked files and messages; and edition lookup
 * in a real WIM (made here with wimlib's wimcapture) inside an ISO made
 * by nestlab's own ISO builder. */
#include <string.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <nestlab/autounattend.h>
#include <nestlab/error.h>
#include <nestlab/iso.h>
#include <nestlab/media.h>
#include <nestlab/wim.h>

#include "nl-test.h"

#define PASSWORD "Build-Adm1n.Value#three"

typedef struct {
  const char *name;
  NlFirmware firmware;
  const char *drivers_os;
} Case;

static const Case cases[] = {
  { "uefi", NL_FIRMWARE_UEFI, NULL },
  { "bios", NL_FIRMWARE_BIOS, NULL },
  { "uefi-drivers", NL_FIRMWARE_UEFI, "2k22" },
  { "bios-drivers", NL_FIRMWARE_BIOS, "2k22" },
};

static NlAutounattendOptions
options_for (const Case *c, gboolean masked)
{
  NlAutounattendOptions o = {
    .firmware = c->firmware,
    .image_index = 2,
    .drivers_os = c->drivers_os,
    .password_name = "admin",
    .password = masked ? NULL : PASSWORD,
    .masked = masked,
  };
  return o;
}

static char *
text_of (GBytes *bytes)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_strndup (data, len);
}

static GBytes *
build (const NlAutounattendOptions *o)
{
  g_autoptr (GError) error = NULL;
  GBytes *bytes = nl_autounattend_build (o, &error);
  ck_assert_msg (bytes != NULL, "%s", error ? error->message : "");
  return bytes;
}

/* ---- golden files ------------------------------------------------------- */

START_TEST (masked_answer_files_match_golden_files)
{
  const Case *c = &cases[_i];
  NlAutounattendOptions o = options_for (c, TRUE);
  g_autoptr (GBytes) bytes = build (&o);
  g_autofree char *text = text_of (bytes);
  g_autofree char *relative = g_strdup_printf ("autounattend/%s.xml", c->name);

  ck_assert_msg (nl_test_golden (relative, text), "%s differs from its golden file", relative);
  ck_assert_ptr_nonnull (strstr (text, "[secret admin]"));
}
END_TEST

/* The real file is the masked one with the marker replaced by the value:
 * nothing else differs. */
START_TEST (real_answer_file_differs_only_in_the_password)
{
  const Case *c = &cases[_i];
  NlAutounattendOptions masked = options_for (c, TRUE);
  NlAutounattendOptions real = options_for (c, FALSE);
  g_autoptr (GBytes) m = build (&masked);
  g_autoptr (GBytes) r = build (&real);
  g_autofree char *mt = text_of (m);
  g_autofree char *rt = text_of (r);
  g_auto (GStrv) parts = g_strsplit (mt, "[secret admin]", -1);
  g_autofree char *expected = g_strjoinv (PASSWORD, parts);

  /* AutoLogon and the Administrator account. */
  ck_assert_uint_eq (g_strv_length (parts), 3);
  ck_assert_str_eq (rt, expected);
  ck_assert_ptr_null (strstr (mt, PASSWORD));
}
END_TEST

/* ---- structure ---------------------------------------------------------- */

static double
xpath_number (xmlXPathContextPtr ctx, const char *expr)
{
  xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  double n = xmlXPathCastToNumber (obj);
  xmlXPathFreeObject (obj);
  return n;
}

static char *
xpath_string (xmlXPathContextPtr ctx, const char *expr)
{
  xmlXPathObjectPtr obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  xmlChar *s = xmlXPathCastToString (obj);
  char *out = g_strdup ((const char *) s);
  xmlFree (s);
  xmlXPathFreeObject (obj);
  return out;
}

#define SETUP "/u:unattend/u:settings[@pass='windowsPE']/u:component[@name='Microsoft-Windows-Setup']"
#define SHELL "/u:unattend/u:settings[@pass='oobeSystem']/u:component[@name='Microsoft-Windows-Shell-Setup']"

static void
assert_count (xmlXPathContextPtr ctx, const char *what, double expected, const char *expr)
{
  double got = xpath_number (ctx, expr);
  ck_assert_msg (got == expected, "%s: %s is %g, expected %g", what, expr, got, expected);
}

static void
assert_string (xmlXPathContextPtr ctx, const char *what, const char *expected, const char *expr)
{
  g_autofree char *got = xpath_string (ctx, expr);
  ck_assert_msg (g_str_equal (got, expected), "%s: %s is '%s', expected '%s'", what, expr, got, expected);
}

START_TEST (answer_files_have_the_structure_windows_setup_reads)
{
  const Case *c = &cases[_i / 2];
  gboolean masked = _i % 2;
  NlAutounattendOptions o = options_for (c, masked);
  g_autoptr (GBytes) bytes = build (&o);
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  xmlDocPtr doc = xmlReadMemory (data, len, "Autounattend.xml", NULL, XML_PARSE_NONET);
  xmlXPathContextPtr ctx;
  gboolean uefi = c->firmware == NL_FIRMWARE_UEFI;
  const char *w = c->name;

  ck_assert_msg (doc != NULL, "%s: not well-formed", w);
  ctx = xmlXPathNewContext (doc);
  xmlXPathRegisterNs (ctx, (const xmlChar *) "u", (const xmlChar *) "urn:schemas-microsoft-com:unattend");
  xmlXPathRegisterNs (ctx, (const xmlChar *) "wcm", (const xmlChar *) "http://schemas.microsoft.com/WMIConfig/2002/State");

  assert_count (ctx, w, 1, "count(/u:unattend)");
  assert_count (ctx, w, 2, "count(/u:unattend/u:settings)");
  assert_count (ctx, w, 1, "count(/u:unattend/u:settings[@pass='windowsPE'])");
  assert_count (ctx, w, 1, "count(/u:unattend/u:settings[@pass='oobeSystem'])");
  assert_count (ctx, w, 0, "count(//*[namespace-uri() != 'urn:schemas-microsoft-com:unattend'])");
  assert_count (ctx, w, 0, "count(//u:component[not(@processorArchitecture='amd64') "
                           "or not(@publicKeyToken='31bf3856ad364e35') or not(@language='neutral') "
                           "or not(@versionScope='nonSxS') or not(@name)])");
  /* Every list entry is added, and those Windows keys are keyed. */
  assert_count (ctx, w, 0, "count(//u:Disk[not(@wcm:action='add')] | //u:CreatePartition[not(@wcm:action='add')] "
                           "| //u:ModifyPartition[not(@wcm:action='add')] | //u:MetaData[not(@wcm:action='add')] "
                           "| //u:SynchronousCommand[not(@wcm:action='add')] "
                           "| //u:PathAndCredentials[not(@wcm:action='add') or not(@wcm:keyValue)])");

  /* Disk 0, wiped, laid out for the firmware; Windows on its last partition. */
  assert_string (ctx, w, "0", "string(" SETUP "/u:DiskConfiguration/u:Disk/u:DiskID)");
  assert_string (ctx, w, "OnError", "string(" SETUP "/u:DiskConfiguration/u:WillShowUI)");
  assert_count (ctx, w, 0, "count(" SETUP "/u:WillShowUI)");
  assert_string (ctx, w, "true", "string(" SETUP "/u:DiskConfiguration/u:Disk/u:WillWipeDisk)");
  assert_count (ctx, w, uefi ? 3 : 2, "count(" SETUP "//u:CreatePartition)");
  assert_count (ctx, w, uefi ? 3 : 2, "count(" SETUP "//u:ModifyPartition)");
  if (uefi)
    {
      assert_string (ctx, w, "EFI 100", "concat(" SETUP "//u:CreatePartition[u:Order=1]/u:Type, ' ', "
                                        SETUP "//u:CreatePartition[u:Order=1]/u:Size)");
      assert_string (ctx, w, "MSR 16", "concat(" SETUP "//u:CreatePartition[u:Order=2]/u:Type, ' ', "
                                       SETUP "//u:CreatePartition[u:Order=2]/u:Size)");
      assert_string (ctx, w, "FAT32", "string(" SETUP "//u:ModifyPartition[u:PartitionID=1]/u:Format)");
      assert_count (ctx, w, 0, "count(" SETUP "//u:ModifyPartition[u:PartitionID=2]/u:Format)");
      assert_count (ctx, w, 0, "count(//u:Active)");
    }
  else
    {
      assert_string (ctx, w, "Primary 500", "concat(" SETUP "//u:CreatePartition[u:Order=1]/u:Type, ' ', "
                                            SETUP "//u:CreatePartition[u:Order=1]/u:Size)");
      assert_string (ctx, w, "true", "string(" SETUP "//u:ModifyPartition[u:PartitionID=1]/u:Active)");
      assert_string (ctx, w, "NTFS", "string(" SETUP "//u:ModifyPartition[u:PartitionID=1]/u:Format)");
    }
  {
    g_autofree char *last = g_strdup_printf ("%u", nl_autounattend_windows_partition (c->firmware));
    g_autofree char *expr = g_strdup_printf ("string(" SETUP "//u:ModifyPartition[u:PartitionID=%s]/u:Format)", last);
    assert_string (ctx, w, "true", "string(" SETUP "//u:CreatePartition[last()]/u:Extend)");
    assert_string (ctx, w, "NTFS", expr);
    assert_string (ctx, w, last, "string(" SETUP "/u:ImageInstall/u:OSImage/u:InstallTo/u:PartitionID)");
  }
  assert_string (ctx, w, "0", "string(" SETUP "/u:ImageInstall/u:OSImage/u:InstallTo/u:DiskID)");
  assert_string (ctx, w, "/IMAGE/INDEX", "string(" SETUP "/u:ImageInstall/u:OSImage/u:InstallFrom/u:MetaData/u:Key)");
  assert_string (ctx, w, "2", "string(" SETUP "/u:ImageInstall/u:OSImage/u:InstallFrom/u:MetaData/u:Value)");
  assert_string (ctx, w, "true", "string(" SETUP "/u:UserData/u:AcceptEula)");
  assert_count (ctx, w, 0, "count(//u:ProductKey)");
  assert_string (ctx, w, "en-US", "string(//u:component[@name='Microsoft-Windows-International-Core-WinPE']/u:SetupUILanguage/u:UILanguage)");

  /* Drivers and the guest agent only with the drivers media. */
  assert_count (ctx, w, c->drivers_os ? 1 : 0, "count(//u:component[@name='Microsoft-Windows-PnpCustomizationsWinPE'])");
  assert_count (ctx, w, c->drivers_os ? 1 : 0, "count(" SHELL "//u:CommandLine[contains(., 'qemu-ga-x86_64.msi') and contains(., '/qn')])");
  if (c->drivers_os)
    for (const char *const *d = nl_autounattend_virtio_drivers (); *d; d++)
      {
        g_autofree char *expr = g_strdup_printf ("count(//u:DriverPaths/u:PathAndCredentials/u:Path[contains(., '\\%s\\2k22\\amd64')])", *d);
        ck_assert_msg (xpath_number (ctx, expr) >= 1, "%s: no path for %s", w, *d);
      }

  /* One automatic logon as Administrator, whose commands end in Sysprep. */
  assert_string (ctx, w, "true", "string(" SHELL "/u:AutoLogon/u:Enabled)");
  assert_string (ctx, w, "1", "string(" SHELL "/u:AutoLogon/u:LogonCount)");
  assert_string (ctx, w, "Administrator", "string(" SHELL "/u:AutoLogon/u:Username)");
  assert_string (ctx, w, masked ? "[secret admin]" : PASSWORD, "string(" SHELL "/u:AutoLogon/u:Password/u:Value)");
  assert_string (ctx, w, masked ? "[secret admin]" : PASSWORD,
                 "string(" SHELL "/u:UserAccounts/u:AdministratorPassword/u:Value)");
  assert_string (ctx, w, NL_AUTOUNATTEND_SYSPREP,
                 "string(" SHELL "/u:FirstLogonCommands/u:SynchronousCommand[last()]/u:CommandLine)");
  {
    g_autofree char *n = g_strdup_printf ("%g", xpath_number (ctx, "count(" SHELL "//u:SynchronousCommand)"));
    assert_string (ctx, w, n, "string(" SHELL "/u:FirstLogonCommands/u:SynchronousCommand[last()]/u:Order)");
  }
  xmlXPathFreeContext (ctx);
  xmlFreeDoc (doc);
}
END_TEST

START_TEST (product_key_and_locales_go_where_given)
{
  NlAutounattendOptions o = options_for (&cases[0], TRUE);
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *text = NULL;

  o.product_key = "ABCDE-12345-FGHIJ-67890-KLMNO";
  o.ui_language = "de-DE";
  o.input_locale = "0407:00000407";
  o.locale = "fr-CH";
  bytes = build (&o);
  text = text_of (bytes);
  ck_assert_ptr_nonnull (strstr (text, "<Key>ABCDE-12345-FGHIJ-67890-KLMNO</Key>"));
  ck_assert_ptr_nonnull (strstr (text, "<UILanguage>de-DE</UILanguage>"));
  ck_assert_ptr_nonnull (strstr (text, "<InputLocale>0407:00000407</InputLocale>"));
  ck_assert_ptr_nonnull (strstr (text, "<SystemLocale>fr-CH</SystemLocale>"));
  ck_assert_ptr_null (strstr (text, "en-US"));
}
END_TEST

START_TEST (bad_options_are_refused_without_the_password)
{
  static const struct {
    const char *field;
    const char *value;
  } bad[] = {
    { "index", NULL },
    { "ui_language", "english" },
    { "input_locale", "us<kbd>" },
    { "locale", "en_US" },
    { "product_key", "ABCDE-12345" },
    { "drivers_os", "..\\w10" },
    { "password", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      NlAutounattendOptions o = options_for (&cases[0], FALSE);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) bytes = NULL;
      const char *f = bad[i].field;

      if (g_str_equal (f, "index"))
        o.image_index = 0;
      else if (g_str_equal (f, "ui_language"))
        o.ui_language = bad[i].value;
      else if (g_str_equal (f, "input_locale"))
        o.input_locale = bad[i].value;
      else if (g_str_equal (f, "locale"))
        o.locale = bad[i].value;
      else if (g_str_equal (f, "product_key"))
        o.product_key = bad[i].value;
      else if (g_str_equal (f, "drivers_os"))
        o.drivers_os = bad[i].value;
      else
        o.password = bad[i].value;
      bytes = nl_autounattend_build (&o, &error);
      ck_assert_msg (bytes == NULL, "%s '%s' was accepted", f, bad[i].value ? bad[i].value : "");
      ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
      ck_assert_ptr_null (strstr (error->message, PASSWORD));
    }
}
END_TEST

START_TEST (virtio_folders_follow_the_os)
{
  ck_assert_str_eq (nl_autounattend_virtio_folder ("win2k22"), "2k22");
  ck_assert_str_eq (nl_autounattend_virtio_folder ("win2k19"), "2k19");
  ck_assert_str_eq (nl_autounattend_virtio_folder ("win2k12r2"), "2k12R2");
  ck_assert_ptr_null (nl_autounattend_virtio_folder ("debian12"));
  ck_assert_ptr_null (nl_autounattend_virtio_folder (NULL));
}
END_TEST

/* ---- editions of a real WIM inside an ISO ------------------------------- */

static void
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  ck_assert_msg (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                               &status, &error),
                 "%s: %s (scripts/setup.sh installs wimtools)", argv[0], error ? error->message : "");
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "%s failed: %s", argv[0], err);
}

/* A WIM of two images, as Windows Server media name theirs, in DIR. */
static char *
make_wim (const char *dir)
{
  g_autofree char *a = g_build_filename (dir, "standard", NULL);
  g_autofree char *b = g_build_filename (dir, "datacenter", NULL);
  g_autofree char *fa = g_build_filename (a, "edition.txt", NULL);
  g_autofree char *fb = g_build_filename (b, "edition.txt", NULL);
  char *wim = g_build_filename (dir, "install.wim", NULL);

  ck_assert_int_eq (g_mkdir (a, 0700), 0);
  ck_assert_int_eq (g_mkdir (b, 0700), 0);
  ck_assert (g_file_set_contents (fa, "standard\n", -1, NULL));
  ck_assert (g_file_set_contents (fb, "datacenter\n", -1, NULL));
  run ((const char *const[]) { "wimcapture", a, wim, "Windows Server 2022 SERVERSTANDARD",
                               "--image-property", "DISPLAYNAME=Windows Server 2022 Standard (Desktop Experience)",
                               "--image-property", "WINDOWS/EDITIONID=ServerStandard", NULL });
  run ((const char *const[]) { "wimappend", b, wim, "Windows Server 2022 SERVERDATACENTER",
                               "--image-property", "DISPLAYNAME=Windows Server 2022 Datacenter (Desktop Experience)",
                               "--image-property", "WINDOWS/EDITIONID=ServerDatacenter", NULL });
  return wim;
}

static void
add_file (GPtrArray *files, const char *path, GBytes *data)
{
  NlMediaFile *file = g_new0 (NlMediaFile, 1);
  file->path = g_strdup (path);
  file->data = g_bytes_ref (data);
  g_ptr_array_add (files, file);
}

/* Installation media holding FILE (a file on disk) at INSIDE, beside a
 * setup.exe, written by nestlab's ISO builder to DIR/NAME. */
static char *
make_media (const char *dir, const char *name, const char *file, const char *inside)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_media_file_free);
  g_autoptr (GBytes) setup = g_bytes_new_static ("MZ", 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) iso = NULL;
  char *path = g_build_filename (dir, name, NULL);
  gchar *contents = NULL;
  gsize len = 0;

  add_file (files, "setup.exe", setup);
  if (file != NULL)
    {
      g_autoptr (GBytes) data = NULL;
      ck_assert (g_file_get_contents (file, &contents, &len, NULL));
      data = g_bytes_new_take (contents, len);
      add_file (files, inside, data);
    }
  iso = nl_iso_build ("SSS_X64FREE_EN-US_DV9", files, &error);
  ck_assert_msg (iso != NULL, "%s", error ? error->message : "");
  ck_assert (g_file_set_contents (path, g_bytes_get_data (iso, NULL), g_bytes_get_size (iso), NULL));
  return path;
}

START_TEST (editions_are_read_from_the_wim_inside_the_iso)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-wim-XXXXXX");
  g_autofree char *wim = make_wim (dir);
  g_autofree char *iso = make_media (dir, "media.iso", wim, "sources/install.wim");
  g_autoptr (GError) error = NULL;
  g_autofree char *found = NULL;
  g_autoptr (GPtrArray) images = nl_wim_media_images (iso, &found, &error);
  const NlWimImage *image;

  ck_assert_msg (images != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (found, "sources/install.wim");
  ck_assert_uint_eq (images->len, 2);
  image = images->pdata[1];
  ck_assert_uint_eq (image->index, 2);
  ck_assert_str_eq (image->name, "Windows Server 2022 SERVERDATACENTER");
  ck_assert_str_eq (image->edition_id, "ServerDatacenter");
  ck_assert_str_eq (image->display_name, "Windows Server 2022 Datacenter (Desktop Experience)");

  /* By name (letter case aside), display name, edition id and index. */
  ck_assert_uint_eq (nl_wim_find_edition (images, "Windows Server 2022 SERVERDATACENTER", NULL)->index, 2);
  ck_assert_uint_eq (nl_wim_find_edition (images, "windows server 2022 serverstandard", NULL)->index, 1);
  ck_assert_uint_eq (nl_wim_find_edition (images, "Windows Server 2022 Standard (Desktop Experience)", NULL)->index, 1);
  ck_assert_uint_eq (nl_wim_find_edition (images, "ServerDatacenter", NULL)->index, 2);
  ck_assert_uint_eq (nl_wim_find_edition (images, "1", NULL)->index, 1);
  ck_assert_uint_eq (nl_wim_find_edition (images, "2", NULL)->index, 2);
  /* The temporary copy is gone (the run's TMPDIR must end empty). */
}
END_TEST

START_TEST (a_missing_edition_lists_the_ones_present)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-wim-XXXXXX");
  g_autofree char *wim = make_wim (dir);
  g_autoptr (GPtrArray) images = nl_wim_images (wim, NULL);
  static const char *const missing[] = { "Windows Server 2022 SERVERSTANDARDCORE", "3", "0", NULL };

  ck_assert_ptr_nonnull (images);
  for (guint i = 0; i < G_N_ELEMENTS (missing); i++)
    {
      g_autoptr (GError) error = NULL;
      ck_assert_ptr_null (nl_wim_find_edition (images, missing[i], &error));
      ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
      ck_assert_msg (strstr (error->message, "1  Windows Server 2022 SERVERSTANDARD (ServerStandard)") != NULL
                     && strstr (error->message, "2  Windows Server 2022 SERVERDATACENTER (ServerDatacenter)") != NULL,
                     "%s", error->message);
      if (missing[i] != NULL)
        ck_assert_ptr_nonnull (strstr (error->message, missing[i]));
      else
        ck_assert_ptr_nonnull (strstr (error->message, "--edition"));
    }
}
END_TEST

/* install.esd (solid-compressed, as Microsoft's download tools make) is
 * found too, and the only image needs no --edition. */
START_TEST (an_esd_with_one_image_needs_no_edition)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-wim-XXXXXX");
  g_autofree char *wim = make_wim (dir);
  g_autofree char *esd = g_build_filename (dir, "install.esd", NULL);
  g_autofree char *iso = NULL;
  g_autofree char *found = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = NULL;

  run ((const char *const[]) { "wimexport", wim, "2", esd, "--solid", NULL });
  iso = make_media (dir, "esd.iso", esd, "sources/install.esd");
  images = nl_wim_media_images (iso, &found, &error);
  ck_assert_msg (images != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (found, "sources/install.esd");
  ck_assert_uint_eq (images->len, 1);
  ck_assert_str_eq (nl_wim_find_edition (images, NULL, &error)->name, "Windows Server 2022 SERVERDATACENTER");
}
END_TEST

START_TEST (media_without_an_install_image_are_refused)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-wim-XXXXXX");
  g_autofree char *iso = make_media (dir, "empty.iso", NULL, NULL);
  g_autofree char *not_iso = g_build_filename (dir, "not.iso", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = nl_wim_media_images (iso, NULL, &error);

  ck_assert_ptr_null (images);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (error->message, "sources/install.wim"));
  g_clear_error (&error);

  ck_assert (g_file_set_contents (not_iso, "not an image at all\n", -1, NULL));
  images = nl_wim_media_images (not_iso, NULL, &error);
  ck_assert_ptr_null (images);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
  g_clear_error (&error);
  images = nl_wim_images (not_iso, &error);
  ck_assert_ptr_null (images);
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_INVALID));
}
END_TEST

/* Streaming a file out of an image gives its bytes back, and an existing
 * destination is never overwritten. */
START_TEST (iso_extract_copies_a_file_out)
{
  g_autoptr (NlTestDir) dir = nl_test_dir_new ("nl-wim-XXXXXX");
  g_autofree char *wim = make_wim (dir);
  g_autofree char *iso = make_media (dir, "media.iso", wim, "sources/install.wim");
  g_autofree char *out = g_build_filename (dir, "out.wim", NULL);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  gsize la = 0, lb = 0;
  g_autoptr (GError) error = NULL;

  ck_assert_msg (nl_iso_extract_file (iso, NL_ISO_TREE_JOLIET, "sources/install.wim", out, &error), "%s",
                 error ? error->message : "");
  ck_assert (g_file_get_contents (wim, &a, &la, NULL));
  ck_assert (g_file_get_contents (out, &b, &lb, NULL));
  ck_assert_uint_eq (la, lb);
  ck_assert_int_eq (memcmp (a, b, la), 0);
  ck_assert (!nl_iso_extract_file (iso, NL_ISO_TREE_JOLIET, "sources/install.wim", out, &error));
  g_clear_error (&error);
  ck_assert (!nl_iso_extract_file (iso, NL_ISO_TREE_JOLIET, "sources/boot.wim", out, &error));
  ck_assert (g_error_matches (error, NL_ERROR, NL_ERROR_NOT_FOUND));
}
END_TEST

static Suite *
autounattend_suite (void)
{
  Suite *s = suite_create ("autounattend");
  TCase *tc = tcase_create ("answer-file");
  TCase *wim = tcase_create ("wim");

  tcase_add_loop_test (tc, masked_answer_files_match_golden_files, 0, G_N_ELEMENTS (cases));
  tcase_add_loop_test (tc, real_answer_file_differs_only_in_the_password, 0, G_N_ELEMENTS (cases));
  tcase_add_loop_test (tc, answer_files_have_the_structure_windows_setup_reads, 0, 2 * G_N_ELEMENTS (cases));
  tcase_add_test (tc, product_key_and_locales_go_where_given);
  tcase_add_test (tc, bad_options_are_refused_without_the_password);
  tcase_add_test (tc, virtio_folders_follow_the_os);
  suite_add_tcase (s, tc);

  tcase_add_test (wim, editions_are_read_from_the_wim_inside_the_iso);
  tcase_add_test (wim, a_missing_edition_lists_the_ones_present);
  tcase_add_test (wim, an_esd_with_one_image_needs_no_edition);
  tcase_add_test (wim, media_without_an_install_image_are_refused);
  tcase_add_test (wim, iso_extract_copies_a_file_out);
  suite_add_tcase (s, wim);
  return s;
}

NL_TEST_MAIN (autounattend_suite)
