/* nestlab image import FILE, image list, image remove NAME: the golden
 * images nestlab knows, made from the disks users have. */
#include <stdio.h>
#include <unistd.h>

#include <nestlab/error.h>
#include <nestlab/image.h>
#include <nestlab/json.h>
#include <nestlab/lab.h>
#include "lab-output.h"

typedef struct {
  char *name;
  char *os;
  char *pool;
  char *firmware;
  gboolean generalized;
  gboolean agent;
} ImportOptions;

const NlCliOption nl_image_import_options[] = {
  NL_CLI_STRING (ImportOptions, name, "name", 0, "The image's name, as templates call it", "NAME"),
  NL_CLI_STRING (ImportOptions, os, "os", 0, "Its OS (a libosinfo short id: win2k22, debian12, ...)", "ID"),
  NL_CLI_STRING (ImportOptions, pool, "pool", 0, "The storage pool for its volume (default: default)", "POOL"),
  NL_CLI_STRING (ImportOptions, firmware, "firmware", 0,
                 "uefi or bios (default: read from the disk: a GPT with an EFI partition is UEFI)", "FIRMWARE"),
  NL_CLI_FLAG (ImportOptions, generalized, "generalized", 0, "It is generalized (sysprepped): clones run setup"),
  NL_CLI_FLAG (ImportOptions, agent, "agent", 0, "The QEMU guest agent is installed in it"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_image_import (NlCli *cli, int argc, char **argv, GError **error)
{
  ImportOptions opts = { 0 };
  g_autoptr (NlVirtConn) conn = NULL;
  g_autoptr (NlImageRecord) rec = NULL;
  NlImageImportOptions io = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  if (opts.name == NULL || opts.os == NULL)
    {
      nl_cli_usage_error (error, "image import needs --name NAME and --os ID");
      return -1;
    }
  if (opts.firmware && g_strcmp0 (opts.firmware, "uefi") != 0 && g_strcmp0 (opts.firmware, "bios") != 0)
    {
      nl_cli_usage_error (error, "--firmware '%s': expected uefi or bios", opts.firmware);
      return -1;
    }
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL)
    return -1;
  io.file = argv[1];
  io.name = opts.name;
  io.os = opts.os;
  io.pool = opts.pool;
  io.firmware = opts.firmware;
  io.generalized = opts.generalized;
  io.agent = opts.agent;
  io.show_progress = isatty (STDOUT_FILENO);
  io.cancellable = nl_cli_interrupt_cancellable ();
  printf ("importing %s as image '%s'\n", argv[1], opts.name);
  fflush (stdout);
  rec = nl_image_import (conn, &io, error);
  if (rec == NULL)
    return -1;
  printf ("image '%s': %s/%s, %s, firmware %s, from %s (%s, sha256 %.12s...)\n", rec->name, rec->pool, rec->volume,
          rec->os, rec->firmware, rec->source, rec->source_format, rec->checksum);
  return 0;
}

typedef struct {
  gboolean json;
} ListOptions;

const NlCliOption nl_image_list_options[] = {
  NL_CLI_FLAG (ListOptions, json, "json", 0, "Print JSON"),
  NL_CLI_OPTION_END,
};

int
nl_cmd_image_list (NlCli *cli, int argc, char **argv, GError **error)
{
  ListOptions opts = { 0 };
  g_autoptr (GPtrArray) images = NULL;

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  images = nl_image_record_list (error);
  if (images == NULL)
    return -1;
  if (opts.json)
    {
      g_autoptr (GString) out = g_string_new ("[");
      for (guint i = 0; i < images->len; i++)
        {
          NlImageRecord *r = images->pdata[i];
          nl_json_append_field (out, i ? ",\n {\"name\": " : "\n {\"name\": ", r->name);
          nl_json_append_field (out, ", \"os\": ", r->os);
          nl_json_append_field (out, ", \"pool\": ", r->pool);
          nl_json_append_field (out, ", \"volume\": ", r->volume);
          nl_json_append_field (out, ", \"firmware\": ", r->firmware);
          g_string_append_printf (out, ", \"generalized\": %s, \"agent\": %s", r->generalized ? "true" : "false",
                                  r->agent ? "true" : "false");
          nl_json_append_field (out, ", \"source\": ", r->source);
          nl_json_append_field (out, ", \"source_format\": ", r->source_format);
          nl_json_append_field (out, ", \"sha256\": ", r->checksum);
          nl_json_append_field (out, ", \"created\": ", r->created);
          g_string_append_c (out, '}');
        }
      g_string_append (out, images->len ? "\n]\n" : "]\n");
      fputs (out->str, stdout);
      return 0;
    }
  if (images->len == 0)
    {
      printf ("no images (nestlab image import FILE --name NAME --os ID makes one)\n");
      return 0;
    }
  printf ("%-20s %-10s %-8s %-11s %-5s %s\n", "IMAGE", "OS", "FIRMWARE", "GENERALIZED", "AGENT", "VOLUME");
  for (guint i = 0; i < images->len; i++)
    {
      NlImageRecord *r = images->pdata[i];
      printf ("%-20s %-10s %-8s %-11s %-5s %s/%s\n", r->name, r->os ? r->os : "-", r->firmware ? r->firmware : "-",
              r->generalized ? "yes" : "no", r->agent ? "yes" : "no", r->pool, r->volume);
    }
  return 0;
}

int
nl_cmd_image_remove (NlCli *cli, int argc, char **argv, GError **error)
{
  g_autoptr (NlVirtConn) conn = NULL;

  if (!nl_cli_parse (cli, NULL, &argc, &argv, error))
    return -1;
  conn = nl_cli_lab_connect (cli, error);
  if (conn == NULL || !nl_image_remove (conn, argv[1], error))
    return -1;
  printf ("image '%s' removed\n", argv[1]);
  return 0;
}
