/* nestlab provision TEMPLATE [MACHINE] [--from STEP]: run the lab's
 * provisioning steps that are not done yet (what `up` runs after starting
 * the machines), or run them again from a step. */
#include <nestlab/error.h>
#include <nestlab/virt.h>
#include "lab-output.h"

typedef struct {
  char **sets;
  char *from;
  gboolean keep_config_disk;
} ProvisionOptions;

const NlCliOption nl_provision_options[] = {
  NL_CLI_STRINGS (ProvisionOptions, sets, "set", 0, "Set a template parameter", "NAME=VALUE"),
  NL_CLI_STRING (ProvisionOptions, from, "from", 0,
                 "Run again from this step on (of MACHINE, or of every machine that has it)", "STEP"),
  NL_CLI_FLAG (ProvisionOptions, keep_config_disk, "keep-config-disk", 0,
               "Leave the config disks in the machines"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_provision (NlCli *cli, int argc, char **argv, GError **error)
{
  ProvisionOptions opts = { 0 };
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (NlVirtConn) conn = NULL;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if (!nl_cli_open_template (cli, argv[1], opts.sets, &lab, &conn, error))
    return -1;
  return nl_cli_run_provision (conn, lab, argc > 2 ? argv[2] : NULL, opts.from, opts.keep_config_disk, error);
}
