/* nestlab's entry point: global options, dispatch through the command table,
 * and the one place where error codes become exit statuses. */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nestlab/error.h>
#include "cli.h"
#include "nl-config.h"

static int nl_cmd_help (NlCli *cli, int argc, char **argv, GError **error);

const NlCommand nl_commands[] = {
  { "validate", "FILE...", "Check lab templates and report every error", nl_cmd_validate },
  { "render", "FILE", "Print (or write) the libvirt XML a lab template makes", nl_cmd_render },
  { "up", "TEMPLATE", "Create or update a lab and start its machines in order", nl_cmd_up },
  { "status", "[LAB]", "Show every lab (or one): machines, state, addresses, checkpoints, patches", nl_cmd_status },
  { "down", "LAB", "Shut a lab's machines down in reverse start order", nl_cmd_down },
  { "destroy", "LAB", "Remove exactly what a lab owns", nl_cmd_destroy },
  { "rebuild", "TEMPLATE", "Destroy a lab and bring it up again", nl_cmd_rebuild },
  { "checkpoint", "LAB NAME|--list|--delete NAME", "Checkpoint a whole lab (domain controllers last)", nl_cmd_checkpoint },
  { "revert", "LAB NAME", "Revert a whole lab to a checkpoint (domain controllers first)", nl_cmd_revert },
  { "host check", "[--json]", "Say whether this host can run hypervisors inside its VMs", nl_cmd_host_check },
  { "nested enable", "DOMAIN", "Make a libvirt domain able to run a hypervisor inside it", nl_cmd_nested_enable },
  { "nested disable", "DOMAIN", "Hide the virtualization extensions from a domain again", nl_cmd_nested_disable },
  { "nested status", "DOMAIN|--all", "Whether domains are nested-ready, and every reason not", nl_cmd_nested_status },
  { "rollout plan", "FILE", "Show what a rollout plan will do, in order, with its window times", nl_cmd_rollout_plan },
  { "rollout run", "FILE", "Run a rollout: replica first, then production ring by ring", nl_cmd_rollout_run },
  { "rollout status", "[ID] [--json]", "List rollouts, or report one per machine and ring", nl_cmd_rollout_status },
  { "rollout resume", "ID", "Continue an interrupted or waiting rollout", nl_cmd_rollout_resume },
  { "rollout abort", "ID", "Stop a rollout before its next machine", nl_cmd_rollout_abort },
  { "help", "[COMMAND]", "Show help for nestlab or one command", nl_cmd_help },
  { NULL, NULL, NULL, NULL },
};

/* Exit statuses: 0 success, 1 operation failed, 2 bad usage or invalid input. */
static int
exit_status_for (const GError *error)
{
  if (error->domain == G_OPTION_ERROR)
    return 2;
  if (error->domain == NL_ERROR
      && (error->code == NL_ERROR_INVALID || error->code == NL_ERROR_USAGE))
    return 2;
  return 1;
}

static const NlCommand *
find_command (int argc, char **argv, int *words)
{
  /* Two-word commands ("host check") win over one-word ones. */
  if (argc >= 2)
    {
      g_autofree char *two = g_strdup_printf ("%s %s", argv[0], argv[1]);
      for (const NlCommand *c = nl_commands; c->name; c++)
        if (strcmp (c->name, two) == 0)
          {
            *words = 2;
            return c;
          }
    }
  for (const NlCommand *c = nl_commands; c->name; c++)
    if (strcmp (c->name, argv[0]) == 0)
      {
        *words = 1;
        return c;
      }
  return NULL;
}

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: nestlab [-c URI] [--debug] COMMAND [ARGS...]\n\n"
           "Build nested Windows/Hyper-V labs on libvirt and rehearse patches on them.\n\n"
           "Commands:\n");
  for (const NlCommand *c = nl_commands; c->name; c++)
    {
      g_autofree char *left = g_strdup_printf ("%s %s", c->name, c->params);
      /* A long synopsis gets its summary on the next line. */
      if (strlen (left) > 36)
        fprintf (out, "  %s\n  %-36s %s\n", left, "", c->summary);
      else
        fprintf (out, "  %-36s %s\n", left, c->summary);
    }
  fprintf (out,
           "\nGlobal options:\n"
           "  -c, --connect URI   libvirt connection URI (default: $LIBVIRT_DEFAULT_URI)\n"
           "  --debug             print debug messages\n"
           "  --version           print the version\n"
           "\nExit status: 0 success, 1 operation failed, 2 bad usage or invalid input.\n");
}

static int
nl_cmd_help (NlCli *cli, int argc, char **argv, GError **error)
{
  const NlCommand *cmd;
  int words = 0;
  char *help_argv[4];

  if (argc < 2)
    {
      print_usage (stdout);
      return 0;
    }
  cmd = find_command (argc - 1, argv + 1, &words);
  if (cmd == NULL || cmd->run == nl_cmd_help)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "unknown command '%s'", argv[1]);
      return -1;
    }
  /* GOption prints the command's generated help for --help. */
  help_argv[0] = (char *) cmd->name;
  help_argv[1] = (char *) "--help";
  help_argv[2] = NULL;
  return cmd->run (cli, 2, help_argv, error);
}

gboolean
nl_cli_parse_options (const NlCommand *cmd, const GOptionEntry *entries,
                      int *argc, char ***argv, GError **error)
{
  g_autofree char *usage = g_strdup_printf ("%s %s", cmd->name, cmd->params);
  g_autoptr (GOptionContext) ctx = g_option_context_new (usage);
  g_option_context_set_summary (ctx, cmd->summary);
  g_option_context_set_help_enabled (ctx, TRUE);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_strict_posix (ctx, FALSE);
  return g_option_context_parse (ctx, argc, argv, error);
}

const NlCommand *
nl_cli_command (const char *name)
{
  for (const NlCommand *c = nl_commands; c->name; c++)
    if (strcmp (c->name, name) == 0)
      return c;
  g_error ("no command '%s' in the table", name);
}

gboolean
nl_cli_accel_mode (gboolean kvm, gboolean emulate, NlAccelMode *mode, GError **error)
{
  if (kvm && emulate)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE,
                   "--kvm and --emulate contradict each other: give one, or neither to let "
                   "the host decide");
      return FALSE;
    }
  *mode = kvm ? NL_ACCEL_KVM : emulate ? NL_ACCEL_EMULATE : NL_ACCEL_AUTO;
  return TRUE;
}

void
nl_cli_print_accel (const NlAccel *accel)
{
  printf ("machines: %s\n", accel->reason);
  if (accel->warning)
    fprintf (stderr, "warning: %s\n", accel->warning);
  fflush (stdout);
}

gboolean
nl_cli_confirm (const char *question)
{
  char answer[16];

  if (!isatty (STDIN_FILENO))
    return FALSE;
  fprintf (stderr, "%s [y/N] ", question);
  fflush (stderr);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  return answer[0] == 'y' || answer[0] == 'Y';
}

int
main (int argc, char **argv)
{
  NlCli cli = { 0 };
  g_autoptr (GError) error = NULL;
  const NlCommand *cmd;
  int words = 0;
  int i = 1;
  int status;

  setlocale (LC_ALL, "");
  /* A connection to libvirtd that drops makes the next write to its socket
   * raise SIGPIPE, which would kill nestlab mid-operation without a word;
   * ignored, the write fails and libvirt reports the lost connection. */
  signal (SIGPIPE, SIG_IGN);
  /* Every command's --help reads "nestlab [OPTION…] COMMAND ARGS". */
  g_set_prgname ("nestlab");
  cli.prog = "nestlab";

  /* Global options come before the command. */
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--version") == 0)
        {
          printf ("nestlab %s\n", NL_VERSION);
          return 0;
        }
      else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      else if (strcmp (a, "--debug") == 0)
        cli.debug = TRUE;
      else if ((strcmp (a, "-c") == 0 || strcmp (a, "--connect") == 0) && i + 1 < argc)
        cli.uri = argv[++i];
      else if (g_str_has_prefix (a, "--connect="))
        cli.uri = (char *) a + strlen ("--connect=");
      else
        {
          fprintf (stderr, "nestlab: unknown option '%s'\n", a);
          print_usage (stderr);
          return 2;
        }
    }
  if (cli.uri == NULL)
    cli.uri = (char *) g_getenv ("LIBVIRT_DEFAULT_URI");
  if (cli.debug)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);

  if (i >= argc)
    {
      print_usage (stderr);
      return 2;
    }
  cmd = find_command (argc - i, argv + i, &words);
  if (cmd == NULL)
    {
      fprintf (stderr, "nestlab: unknown command '%s' (see 'nestlab help')\n", argv[i]);
      return 2;
    }

  /* The handler sees its (possibly two-word) name as argv[0]. */
  {
    int cargc = argc - i - words + 1;
    g_autofree char **cargv = g_new0 (char *, cargc + 1);
    cargv[0] = (char *) cmd->name;
    for (int k = 1; k < cargc; k++)
      cargv[k] = argv[i + words + k - 1];
    status = cmd->run (&cli, cargc, cargv, &error);
  }
  if (status < 0)
    {
      g_assert (error != NULL);
      fprintf (stderr, "nestlab %s: %s\n", cmd->name, error->message);
      return exit_status_for (error);
    }
  return status;
}
