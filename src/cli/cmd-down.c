/* nestlab down LAB: shut the lab's machines down in reverse start order
 * (guest agent, then ACPI, power off after the timeout). */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

typedef struct {
  gint timeout;
  gint workers;
} DownOptions;

const NlCliOption nl_down_options[] = {
  NL_CLI_INT (DownOptions, timeout, "timeout", 't', "Seconds to wait before powering off (default 120)", "S"),
  NL_CLI_INT (DownOptions, workers, "workers", 'j', "Parallel libvirt connections (default 4)", "N"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_down (NlCli *cli, int argc, char **argv, GError **error)
{
  DownOptions opts = { .timeout = 120 };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  NlLabOptions options = { 0 };
  gboolean ok;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  options.timeout = opts.timeout > 0 ? (guint) opts.timeout : 1;
  options.workers = (guint) opts.workers;
  options.cancellable = nl_cli_interrupt_cancellable ();
  options.progress = nl_cli_lab_progress;
  ok = nl_lab_down (conn, argv[1], &options, report, error);
  if (!ok && g_error_matches (*error, NL_ERROR, NL_ERROR_NOT_FOUND))
    return -1;
  nl_cli_print_report ("down", argv[1], report);
  return ok ? 0 : -1;
}
