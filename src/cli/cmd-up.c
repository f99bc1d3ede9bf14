/* nestlab up TEMPLATE: plan what the lab needs against what libvirt holds,
 * print it (--dry-run) or apply it, then show the lab's status. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

int
nl_cmd_up (NlCli *cli, int argc, char **argv, GError **error)
{
  static NlCliUpOptions o;
  const GOptionEntry entries[] = { UP_OPTION_ENTRIES (o), G_OPTION_ENTRY_NULL };
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (NlVirtConn) conn = NULL;

  if (!nl_cli_parse_options (nl_cli_command ("up"), entries, &argc, &argv, error))
    return -1;
  if (!nl_cli_open_template (cli, argc, argv, o.sets, &lab, &conn, error))
    return -1;
  return nl_cli_run_up (conn, lab, &o, error);
}
