/* nestlab destroy LAB: remove exactly what the lab owns (its marked
 * domains, the volumes they list, its marked networks), nothing else. */
#include <stdio.h>
#include <unistd.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

int
nl_cmd_destroy (NlCli *cli, int argc, char **argv, GError **error)
{
  static gboolean yes, dry_run;
  static gint workers;
  const GOptionEntry entries[] = {
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, "Do not ask for confirmation", NULL },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Print what would be removed", NULL },
    { "workers", 'j', 0, G_OPTION_ARG_INT, &workers, "Parallel libvirt connections (default 4)", "N" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  g_autoptr (GPtrArray) doomed = NULL;
  g_autofree char *question = NULL;
  NlLabOptions options = { 0 };
  const char *lab;
  gboolean ok;

  if (!nl_cli_parse_options (nl_cli_command ("destroy"), entries, &argc, &argv, error))
    return -1;
  if (argc != 2)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "expected one LAB");
      return -1;
    }
  lab = argv[1];
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  doomed = nl_lab_destroy_plan (conn, lab, error);
  if (doomed == NULL)
    return -1;
  if (doomed->len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND, "no lab '%s' here: no domain or network carries its mark", lab);
      return -1;
    }
  if (dry_run || (!yes && isatty (0)))
    for (guint i = 0; i < doomed->len; i++)
      printf ("  remove %s\n", (char *) doomed->pdata[i]);
  if (dry_run)
    return 0;
  question = g_strdup_printf ("Remove these %u objects of lab '%s'?", doomed->len, lab);
  if (!yes && !nl_cli_confirm (question))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE,
                   "not confirmed: destroy removes %u objects of lab '%s' (use --yes in scripts)",
                   doomed->len, lab);
      return -1;
    }
  options.workers = workers > 0 ? (guint) workers : 0;
  options.cancellable = nl_cli_interrupt_cancellable ();
  options.progress = nl_cli_lab_progress;
  ok = nl_lab_destroy (conn, lab, &options, report, error);
  nl_cli_print_report ("destroy", lab, report);
  return ok ? 0 : -1;
}
