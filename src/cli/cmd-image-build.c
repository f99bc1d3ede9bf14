/* nestlab image build: an unattended Windows Server installation from its
 * install media into a new golden image. The work is the imagebuild
 * module's; this file reads the options, prints the plan (all of it, the
 * answer file masked, with --dry-run), shows the time elapsed while Setup
 * runs, turns Ctrl-C into a clean stop and records the image. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include <nestlab/error.h>
#include <nestlab/image.h>
#include <nestlab/imagebuild.h>
#include <nestlab/virt.h>
#include "cli.h"

#define DEFAULT_TIMEOUT (3 * 3600)

typedef struct {
  char *iso;
  char *os;
  char *edition;
  char *drivers;
  char *firmware;
  char *name;
  char *pool;
  char *size;
  char *timeout;
  char *locale;
  char *keyboard;
  char *ui_language;
  char *product_key;
  char *password_file;
  char *password_env;
  gboolean dry_run;
  gboolean emulate;
  gboolean kvm;
} ImageBuildOptions;

const NlCliOption nl_image_build_options[] = {
  NL_CLI_FILENAME (ImageBuildOptions, iso, "iso", 0, "The Windows installation ISO (required)", "FILE"),
  NL_CLI_STRING (ImageBuildOptions, os, "os", 0,
                 "What the media install, as a libosinfo id: win2k22, win2k19, ... (required)", "ID"),
  NL_CLI_STRING (ImageBuildOptions, edition, "edition", 0,
                 "The edition: its name, display name, edition id or index in install.wim "
                 "(default: the only one)", "NAME"),
  NL_CLI_FILENAME (ImageBuildOptions, drivers, "drivers", 0,
                   "The virtio-win ISO: its drivers go into Windows and its QEMU guest agent is installed",
                   "FILE"),
  NL_CLI_STRING (ImageBuildOptions, firmware, "firmware", 0, "Firmware and disk layout (default uefi)",
                 "uefi|bios"),
  NL_CLI_STRING (ImageBuildOptions, name, "name", 0,
                 "The image's name, which templates use (default: the --os id)", "NAME"),
  NL_CLI_STRING (ImageBuildOptions, pool, "pool", 0, "Storage pool of the image (default: default)", "POOL"),
  NL_CLI_STRING (ImageBuildOptions, size, "size", 0, "Size of the image's disk (default 64GiB)", "SIZE"),
  NL_CLI_STRING (ImageBuildOptions, timeout, "timeout", 0,
                 "How long Setup may take before the build is given up (default 3h; 0: no limit)", "DURATION"),
  NL_CLI_STRING (ImageBuildOptions, locale, "locale", 0, "System and user locale (default en-US)", "TAG"),
  NL_CLI_STRING (ImageBuildOptions, keyboard, "keyboard", 0,
                 "Input locale, a tag or a layout such as 0409:00000409 (default en-US)", "TAG"),
  NL_CLI_STRING (ImageBuildOptions, ui_language, "ui-language", 0,
                 "Language of Windows, which the media must hold (default en-US)", "TAG"),
  NL_CLI_STRING (ImageBuildOptions, product_key, "product-key", 0,
                 "Product key (evaluation media need none)", "KEY"),
  NL_CLI_FILENAME (ImageBuildOptions, password_file, "password-file", 0,
                   "The Administrator password, from a file of mode 0600 (default: generated and "
                   "kept: nestlab secret show image-build-NAME admin)", "FILE"),
  NL_CLI_STRING (ImageBuildOptions, password_env, "password-env", 0,
                 "The Administrator password, from an environment variable", "VAR"),
  NL_CLI_FLAG (ImageBuildOptions, dry_run, "dry-run", 'n',
               "Print the plan and Autounattend.xml (password masked); change nothing"),
  NL_CLI_FLAG (ImageBuildOptions, emulate, "emulate", 0,
               "QEMU software emulation (very slow: Setup takes hours; automatic where KVM cannot run guests)"),
  NL_CLI_FLAG (ImageBuildOptions, kvm, "kvm", 0, "KVM even where the host check advises emulation"),
  NL_CLI_OPTION_END,
};

/* ---- the image record --------------------------------------------------- */

/* Whether nestlab already knows an image NAME. */
static gboolean
image_known (const char *name)
{
  g_autoptr (NlImageRecord) rec = nl_image_record_load (name, NULL);
  return rec != NULL;
}

/* Records what PLAN built: the one place image build writes a record. */
static gboolean
record_image (const NlImageBuildPlan *plan, GError **error)
{
  g_autoptr (NlImageRecord) rec = nl_image_record_new ();

  rec->name = g_strdup (plan->name);
  rec->os = g_strdup (plan->os);
  rec->pool = g_strdup (plan->pool);
  rec->volume = g_strdup (plan->volume);
  rec->firmware = g_strdup (nl_firmware_to_string (plan->firmware));
  rec->generalized = TRUE;
  rec->agent = plan->drivers != NULL;
  rec->source = g_strdup (plan->iso);
  rec->source_format = g_strdup ("iso");
  rec->checksum = g_strdup (plan->checksum);
  rec->created = g_strdup (plan->created);
  return nl_image_record_save (rec, error);
}

/* ---- output --------------------------------------------------------------- */

static void
print_plan (const NlImageBuildPlan *plan, const ImageBuildOptions *opts)
{
  g_autofree char *size = nl_format_size (plan->size);

  printf ("Image %s (%s) from %s\n", plan->name, plan->os, plan->iso);
  printf ("  edition: %s -> index %u of %s\n", plan->edition, plan->index, plan->wim_path);
  printf ("  firmware: %s\n", nl_firmware_to_string (plan->firmware));
  printf ("  machines: %s\n", plan->accel_reason);
  if (plan->drivers)
    printf ("  drivers: %s (folder %s; the QEMU guest agent is installed)\n", plan->drivers, plan->drivers_os);
  else
    printf ("  drivers: none (no guest agent in the image)\n");
  if (plan->leftover)
    printf ("  remove first: domain %s of a previous build, and the volumes it lists\n", plan->domain);
  printf ("  volume %s/%s: the image, qcow2, %s (kept)\n", plan->pool, plan->volume, size);
  printf ("  volume %s/%s: the answer ISO (removed at the end)\n", plan->pool, plan->answer_volume);
  printf ("  domain %s: boots the media, waits for Sysprep's power-off (timeout %s), removed at the end\n",
          plan->domain, opts->timeout ? opts->timeout : "3h");
  printf ("  editions on the media:\n%s\n", plan->editions);
  if (opts->dry_run)
    printf ("\nAutounattend.xml:\n%s\nThe build domain:\n%s", plan->autounattend, plan->domain_xml);
}

typedef struct {
  gboolean tty;
  gboolean line_open;
} Progress;

static void
show_progress (NlImageBuildPhase phase, guint elapsed, gpointer data)
{
  Progress *p = data;

  switch (phase)
    {
    case NL_IMAGE_BUILD_CLEANING:
      break;
    case NL_IMAGE_BUILD_CHECKSUM:
      printf ("Reading the install ISO (SHA-256)...\n");
      break;
    case NL_IMAGE_BUILD_STARTED:
      printf ("Started: Windows Setup installs, then Sysprep generalizes and powers the machine off.\n");
      break;
    case NL_IMAGE_BUILD_WAITING:
      if (p->tty)
        {
          printf ("\r  %u:%02u:%02u elapsed", elapsed / 3600, elapsed / 60 % 60, elapsed % 60);
          p->line_open = TRUE;
        }
      break;
    case NL_IMAGE_BUILD_POWERED_OFF:
      if (p->line_open)
        printf ("\n");
      p->line_open = FALSE;
      printf ("Powered off by itself after %u:%02u:%02u.\n", elapsed / 3600, elapsed / 60 % 60, elapsed % 60);
      break;
    case NL_IMAGE_BUILD_DISCARDING:
      if (p->line_open)
        printf ("\n");
      p->line_open = FALSE;
      printf ("Removing what the build made...\n");
      break;
    default:
      break;
    }
  fflush (stdout);
}

/* Ctrl-C and kill (SIGTERM, SIGHUP) stop the build where it waits, and it
 * removes what it made; a second signal is left to its default. */
static gboolean
on_signal (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_CONTINUE;
}

static gpointer
signal_thread (gpointer data)
{
  g_main_loop_run (data);
  return NULL;
}

static gboolean
parse_firmware (const char *text, NlFirmware *firmware, GError **error)
{
  if (text == NULL)
    {
      *firmware = NL_FIRMWARE_UEFI;
      return TRUE;
    }
  int value = nl_firmware_from_string (text);
  if (value >= 0)
    {
      *firmware = (NlFirmware) value;
      return TRUE;
    }
  nl_cli_usage_error (error, "--firmware '%s': expected uefi or bios", text);
  return FALSE;
}

int
nl_cmd_image_build (NlCli *cli, int argc, char **argv, GError **error)
{
  ImageBuildOptions opts = { 0 };
  NlImageBuildOptions options = { 0 };
  g_autoptr (NlSecret) password = NULL;
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlImageBuildPlan) plan = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GMainContext) context = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  GThread *thread = NULL;
  Progress progress = { .tty = isatty (STDOUT_FILENO) };
  NlAccelMode mode;
  gboolean ok;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if (opts.iso == NULL || opts.os == NULL)
    {
      nl_cli_usage_error (error, "--iso and --os are required");
      return -1;
    }
  options.iso = opts.iso;
  options.os = opts.os;
  options.edition = opts.edition;
  options.drivers = opts.drivers;
  options.name = opts.name ? opts.name : opts.os;
  options.pool = opts.pool;
  options.ui_language = opts.ui_language;
  options.input_locale = opts.keyboard;
  options.locale = opts.locale;
  options.product_key = opts.product_key;
  options.timeout = DEFAULT_TIMEOUT;
  if (!parse_firmware (opts.firmware, &options.firmware, error)
      || !nl_cli_accel_mode (opts.kvm, opts.emulate, &mode, error))
    return -1;
  options.accel = mode;
  if (opts.size != NULL && (!nl_parse_size (opts.size, &options.size, error) || options.size == 0))
    {
      if (error && *error == NULL)
        nl_cli_usage_error (error, "--size '%s': expected a size above 0", opts.size);
      else
        g_prefix_error (error, "--size: ");
      return -1;
    }
  if (opts.timeout != NULL && !nl_parse_duration (opts.timeout, &options.timeout, error))
    {
      g_prefix_error (error, "--timeout: ");
      return -1;
    }
  if (opts.password_file != NULL && opts.password_env != NULL)
    {
      nl_cli_usage_error (error, "--password-file and --password-env contradict each other: give one");
      return -1;
    }
  if (opts.password_file != NULL || opts.password_env != NULL)
    {
      password = nl_secret_new ();
      password->name = g_strdup (NL_IMAGE_BUILD_SECRET);
      password->source = opts.password_file ? NL_SECRET_FILE : NL_SECRET_ENV;
      password->file = opts.password_file ? g_canonicalize_filename (opts.password_file, NULL) : NULL;
      password->env = g_strdup (opts.password_env);
      options.password = password;
    }

  if (!opts.dry_run && image_known (options.name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_CONFLICT,
                   "nestlab already has an image '%s': remove it first (nestlab image remove %s) "
                   "or choose another --name", options.name, options.name);
      return -1;
    }
  if ((conn = nl_virt_connect (cli->uri, error)) == NULL)
    return -1;
  plan = nl_image_build_plan (conn, &options, error);
  if (plan == NULL)
    return -1;
  print_plan (plan, &opts);
  if (plan->emulate)
    fprintf (stderr, "warning: under software emulation Windows Setup takes many hours; "
             "raise --timeout to match\n");
  if (opts.dry_run)
    {
      printf ("Dry run: nothing changed.\n");
      return 0;
    }

  context = g_main_context_new ();
  loop = g_main_loop_new (context, FALSE);
  for (const int *sig = (const int[]) { SIGINT, SIGTERM, SIGHUP, 0 }; *sig; sig++)
    {
      g_autoptr (GSource) source = g_unix_signal_source_new (*sig);
      g_source_set_callback (source, on_signal, cancellable, NULL);
      g_source_attach (source, context);
    }
  thread = g_thread_new ("signals", signal_thread, loop);
  options.cancellable = cancellable;
  options.progress = show_progress;
  options.progress_data = &progress;

  ok = nl_image_build_run (conn, plan, &options, error);
  g_main_loop_quit (loop);
  g_thread_join (thread);
  if (!ok)
    {
      if (progress.line_open)
        printf ("\n");
      return -1;
    }
  if (!record_image (plan, error))
    {
      g_prefix_error (error, "the image was built (volume %s of pool %s) but not recorded: ", plan->volume,
                      plan->pool);
      return -1;
    }
  if (!nl_image_build_finish (conn, plan, error))
    {
      g_prefix_error (error, "image %s is built and recorded, but removing the build domain %s "
                      "failed (once its mark no longer lists %s, `nestlab destroy %s` removes it): ",
                      plan->name, plan->domain, plan->volume, plan->lab);
      return -1;
    }
  printf ("Image %s: volume %s of pool %s, generalized%s; templates name it \"%s\".\n", plan->name,
          plan->volume, plan->pool, plan->drivers ? ", with the QEMU guest agent" : "", plan->name);
  return 0;
}
