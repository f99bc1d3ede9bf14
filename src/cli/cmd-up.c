/* nestlab up TEMPLATE: plan what the lab needs against what libvirt holds,
 * print it (--dry-run) or apply it, then show the lab's status. */
#include <stdio.h>

#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

typedef struct {
  NlCliUpOptions up;
} UpOptions;

const NlCliOption nl_up_options[] = {
  NL_CLI_UP_OPTIONS (UpOptions, up),
  NL_CLI_OPTION_END,
};

int
nl_cmd_up (NlCli *cli, int argc, char **argv, GError **error)
{
  UpOptions opts = { 0 };
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (NlVirtConn) conn = NULL;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if (!nl_cli_open_template (cli, argv[1], opts.up.sets, &lab, &conn, error))
    return -1;
  return nl_cli_run_up (conn, lab, &opts.up, error);
}
