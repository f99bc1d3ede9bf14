/* nestlab rebuild TEMPLATE: destroy what the lab owns, then up; for
 * scripted teardown and rebuild. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

int
nl_cmd_rebuild (NlCli *cli, int argc, char **argv, GError **error)
{
  static NlCliUpOptions o;
  static gboolean yes;
  const GOptionEntry entries[] = {
    UP_OPTION_ENTRIES (o),
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, "Do not ask for confirmation", NULL },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (GPtrArray) doomed = NULL;
  NlLabOptions options = { 0 };

  if (!nl_cli_parse_options (nl_cli_command ("rebuild"), entries, &argc, &argv, error))
    return -1;
  if (!nl_cli_open_template (cli, argc, argv, o.sets, &lab, &conn, error))
    return -1;
  doomed = nl_lab_destroy_plan (conn, lab->name, error);
  if (doomed == NULL)
    return -1;
  if (o.dry_run)
    {
      for (guint i = 0; i < doomed->len; i++)
        printf ("  remove    %s\n", (char *) doomed->pdata[i]);
      printf ("then:\n");
    }
  else if (doomed->len > 0)
    {
      g_autoptr (NlReport) report = nl_report_new ();
      g_autofree char *question = g_strdup_printf ("Remove the %u objects of lab '%s' and build it again?",
                                                   doomed->len, lab->name);
      if (!yes && !nl_cli_confirm (question))
        {
          g_set_error (error, NL_ERROR, NL_ERROR_USAGE,
                       "not confirmed: rebuild removes %u objects of lab '%s' (use --yes in scripts)",
                       doomed->len, lab->name);
          return -1;
        }
      options.cancellable = nl_cli_interrupt_cancellable ();
      options.progress = nl_cli_lab_progress;
      options.workers = o.workers > 0 ? (guint) o.workers : 0;
      if (!nl_lab_destroy (conn, lab->name, &options, report, error))
        {
          nl_cli_print_report ("destroy", lab->name, report);
          return -1;
        }
      nl_cli_print_report ("destroy", lab->name, report);
    }
  /* With nothing left, the plan is all "create"; a dry run shows that. */
  return nl_cli_run_up (conn, lab, &o, error);
}
