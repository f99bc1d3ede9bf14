/* nestlab checkpoint LAB NAME | --list | --delete NAME, and nestlab revert
 * LAB NAME: lab-wide checkpoints, members first and domain controllers
 * last (controllers first on revert). */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

static void
setup_options (NlLabOptions *options)
{
  options->cancellable = nl_cli_interrupt_cancellable ();
  options->progress = nl_cli_lab_progress;
}

typedef struct {
  gboolean list;
  char *delete_name;
} CheckpointOptions;

const NlCliOption nl_checkpoint_options[] = {
  NL_CLI_FLAG (CheckpointOptions, list, "list", 'l', "List the lab's checkpoints"),
  NL_CLI_STRING (CheckpointOptions, delete_name, "delete", 'd', "Delete checkpoint NAME", "NAME"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_checkpoint (NlCli *cli, int argc, char **argv, GError **error)
{
  CheckpointOptions opts = { 0 };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  NlLabOptions options = { 0 };
  gboolean ok;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if ((opts.list || opts.delete_name) ? argc != 2 : argc != 3)
    {
      nl_cli_usage_error (error, "expected LAB NAME, LAB --list or LAB --delete NAME");
      return -1;
    }
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  setup_options (&options);
  if (opts.list)
    {
      g_autoptr (GPtrArray) names = nl_lab_checkpoint_list (conn, argv[1], error);
      if (names == NULL)
        return -1;
      if (names->len == 0)
        printf ("lab '%s' has no checkpoints\n", argv[1]);
      else
        printf ("%-24s %-9s %-9s %-7s %s\n", "CHECKPOINT", "MACHINES", "MODE", "MEMORY", "CREATED");
      for (guint i = 0; i < names->len; i++)
        {
          NlCheckpointSummary *c = names->pdata[i];
          g_autofree char *held = g_strdup_printf ("%u/%u", c->held, c->machines);
          g_autofree char *memory = g_strdup_printf ("%u/%u", c->with_memory, c->held);
          printf ("%-24s %-9s %-9s %-7s %s\n", c->name, held,
                  c->mixed ? "mixed" : nl_checkpoint_mode_to_string (c->mode), memory,
                  c->created ? c->created : "");
        }
      return 0;
    }
  if (opts.delete_name)
    {
      ok = nl_lab_checkpoint_delete (conn, argv[1], opts.delete_name, &options, report, error);
      nl_cli_print_report ("checkpoint delete", argv[1], report);
      return ok ? 0 : -1;
    }
  ok = nl_lab_checkpoint (conn, argv[1], argv[2], &options, report, error);
  if (!ok && report->done + report->unchanged + report->failures->len == 0)
    return -1;
  nl_cli_print_report ("checkpoint", argv[1], report);
  return ok ? 0 : -1;
}

int
nl_cmd_revert (NlCli *cli, int argc, char **argv, GError **error)
{
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  NlLabOptions options = { 0 };
  gboolean ok;

  if (!nl_cli_parse (cli, NULL, &argc, &argv, error))
    return -1;
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  setup_options (&options);
  ok = nl_lab_revert (conn, argv[1], argv[2], &options, report, error);
  if (!ok && report->done + report->unchanged + report->failures->len == 0)
    return -1;
  nl_cli_print_report ("revert", argv[1], report);
  return ok ? 0 : -1;
}
