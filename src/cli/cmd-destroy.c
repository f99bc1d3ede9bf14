/* nestlab destroy LAB: remove exactly what the lab owns (its marked
 * domains, the volumes they list, its marked networks), nothing else. */
#include <stdio.h>
#include <unistd.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

typedef struct {
  gboolean yes;
  gboolean dry_run;
  gint workers;
} DestroyOptions;

const NlCliOption nl_destroy_options[] = {
  NL_CLI_FLAG (DestroyOptions, yes, "yes", 'y', "Do not ask for confirmation"),
  NL_CLI_FLAG (DestroyOptions, dry_run, "dry-run", 'n', "Print what would be removed"),
  NL_CLI_INT (DestroyOptions, workers, "workers", 'j', "Parallel libvirt connections (default 4)", "N"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_destroy (NlCli *cli, int argc, char **argv, GError **error)
{
  DestroyOptions opts = { 0 };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GPtrArray) doomed = NULL;
  g_autofree char *question = NULL;
  g_autofree char *what = NULL;
  NlLabOptions options = { 0 };
  const char *lab;
  gboolean ok;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  lab = argv[1];
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  doomed = nl_lab_destroy_plan (conn, lab, error);
  if (doomed == NULL)
    return -1;
  if (doomed->len == 0)
    {
      nl_cli_no_lab_error (error, lab);
      return -1;
    }
  if (opts.dry_run || (!opts.yes && isatty (STDIN_FILENO)))
    for (guint i = 0; i < doomed->len; i++)
      printf ("  remove %s\n", (char *) doomed->pdata[i]);
  if (opts.dry_run)
    return 0;
  question = g_strdup_printf ("Remove these %u object%s of lab '%s'?", doomed->len,
                              doomed->len == 1 ? "" : "s", lab);
  what = g_strdup_printf ("remove the %u object%s of lab '%s'", doomed->len,
                          doomed->len == 1 ? "" : "s", lab);
  if (!opts.yes && !nl_cli_confirm (question, what, error))
    return -1;
  options.workers = (guint) opts.workers;
  options.cancellable = nl_cli_interrupt_cancellable ();
  options.progress = nl_cli_lab_progress;
  ok = nl_lab_destroy (conn, lab, &options, report, error);
  nl_cli_print_report ("destroy", lab, report);
  return ok ? 0 : -1;
}
