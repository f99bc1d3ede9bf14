/* nestlab down LAB: shut the lab's machines down in reverse start order
 * (guest agent, then ACPI, power off after the timeout). */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

int
nl_cmd_down (NlCli *cli, int argc, char **argv, GError **error)
{
  static gint timeout = 120;
  static gint workers;
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, "Seconds to wait before powering off (default 120)", "S" },
    { "workers", 'j', 0, G_OPTION_ARG_INT, &workers, "Parallel libvirt connections (default 4)", "N" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlReport) report = nl_report_new ();
  NlLabOptions options = { 0 };
  gboolean ok;

  if (!nl_cli_parse_options (nl_cli_command ("down"), entries, &argc, &argv, error))
    return -1;
  if (argc != 2 || timeout < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, argc != 2 ? "expected one LAB" : "--timeout must be >= 0");
      return -1;
    }
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  options.timeout = timeout > 0 ? (guint) timeout : 1;
  options.workers = workers > 0 ? (guint) workers : 0;
  options.cancellable = nl_cli_interrupt_cancellable ();
  options.progress = nl_cli_lab_progress;
  ok = nl_lab_down (conn, argv[1], &options, report, error);
  if (!ok && g_error_matches (*error, NL_ERROR, NL_ERROR_NOT_FOUND))
    return -1;
  nl_cli_print_report ("down", argv[1], report);
  return ok ? 0 : -1;
}
