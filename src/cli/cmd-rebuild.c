/* nestlab rebuild TEMPLATE: destroy what the lab owns, then up; for
 * scripted teardown and rebuild. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

typedef struct {
  NlCliUpOptions up;
  gboolean yes;
} RebuildOptions;

const NlCliOption nl_rebuild_options[] = {
  NL_CLI_UP_OPTIONS (RebuildOptions, up),
  NL_CLI_FLAG (RebuildOptions, yes, "yes", 'y', "Do not ask for confirmation"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_rebuild (NlCli *cli, int argc, char **argv, GError **error)
{
  RebuildOptions opts = { 0 };
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (GPtrArray) doomed = NULL;
  NlLabOptions options = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if (!nl_cli_open_template (cli, argv[1], opts.up.sets, &lab, &conn, error))
    return -1;
  doomed = nl_lab_destroy_plan (conn, lab->name, error);
  if (doomed == NULL)
    return -1;
  if (opts.up.dry_run)
    {
      for (guint i = 0; i < doomed->len; i++)
        printf ("  remove    %s\n", (char *) doomed->pdata[i]);
      printf ("then:\n");
    }
  else if (doomed->len > 0)
    {
      g_autoptr (NlReport) report = nl_report_new ();
      const char *s = doomed->len == 1 ? "" : "s";
      g_autofree char *question = g_strdup_printf ("Remove the %u object%s of lab '%s' and build it again?",
                                                   doomed->len, s, lab->name);
      g_autofree char *what = g_strdup_printf ("remove the %u object%s of lab '%s' and build it again",
                                               doomed->len, s, lab->name);
      if (!opts.yes && !nl_cli_confirm (question, what, error))
        return -1;
      options.cancellable = nl_cli_interrupt_cancellable ();
      options.progress = nl_cli_lab_progress;
      options.workers = (guint) opts.up.workers;
      if (!nl_lab_destroy (conn, lab->name, &options, report, error))
        {
          nl_cli_print_report ("destroy", lab->name, report);
          return -1;
        }
      nl_cli_print_report ("destroy", lab->name, report);
    }
  /* With nothing left, the plan is all "create"; a dry run shows that. */
  return nl_cli_run_up (conn, lab, &opts.up, error);
}
