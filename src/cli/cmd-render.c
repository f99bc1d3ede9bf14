/* nestlab render FILE: the libvirt XML a lab template makes, without
 * touching libvirt. Printed (each object after a comment naming it), or
 * written one file per object with --out DIR, which also writes each
 * machine's config media (secrets masked) into DIR/media-DOMAIN/ and its
 * provisioning steps into DIR/steps-DOMAIN/. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <nestlab/error.h>
#include <nestlab/media.h>
#include <nestlab/render.h>
#include <nestlab/template.h>
#include "cli.h"

typedef struct {
  const char *out_dir;
  guint written;
} Output;

static gboolean
emit (Output *out, const char *kind, const char *name, xmlDocPtr doc, GError **error)
{
  g_autofree char *text = nl_render_to_string (doc);

  if (out->out_dir == NULL)
    {
      printf ("<!-- %s %s -->\n%s", kind, name, text);
      return TRUE;
    }
  {
    g_autofree char *file = g_strdup_printf ("%s-%s.xml", kind, name);
    g_autofree char *path = g_build_filename (out->out_dir, file, NULL);
    if (!g_file_set_contents (path, text, -1, error))
      return FALSE;
    printf ("%s\n", path);
    out->written++;
  }
  return TRUE;
}

typedef struct {
  char **sets;
  char *out_dir;
  gboolean emulate;
  char *vendor;
} RenderOptions;

const NlCliOption nl_render_options[] = {
  NL_CLI_STRINGS (RenderOptions, sets, "set", 0, "Set a template parameter", "NAME=VALUE"),
  NL_CLI_FILENAME (RenderOptions, out_dir, "out", 'o',
                   "Write one file per object into DIR, and each machine's config media (secrets masked) "
                   "into DIR/media-DOMAIN/", "DIR"),
  NL_CLI_FLAG (RenderOptions, emulate, "emulate", 0,
               "No KVM: domain type qemu, CPU mode maximum (slow; for testing only)"),
  NL_CLI_STRING (RenderOptions, vendor, "vendor", 0,
                 "Host CPU vendor for nested settings (default: this host's)", "intel|amd"),
  NL_CLI_OPTION_END,
};

/* The config media of every machine that gets them, masked: secrets are
 * named, never resolved, so reviewing needs none of them. */
static GPtrArray *
build_media (const NlLab *lab, GError **error)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) nl_media_free);
  NlMediaOptions options = { .masked = TRUE };

  for (guint i = 0; i < lab->machines->len; i++)
    {
      NlMachine *m = g_ptr_array_index (lab->machines, i);
      NlMedia *media = NULL;
      if (nl_media_kind_of (m, NULL) && (media = nl_media_build (lab, m, &options, error)) == NULL)
        return NULL;
      g_ptr_array_add (all, media);
    }
  return g_steal_pointer (&all);
}

static gboolean
emit_media (Output *out, const NlLab *lab, const NlMachine *machine, const NlMedia *media, GError **error)
{
  g_autofree char *domain = nl_lab_domain_name (lab, machine);
  g_autofree char *folder = g_strdup_printf ("media-%s", domain);
  g_autofree char *dir = g_build_filename (out->out_dir, folder, NULL);

  for (guint i = 0; i < media->files->len; i++)
    {
      NlMediaFile *file = g_ptr_array_index (media->files, i);
      g_autofree char *path = g_build_filename (dir, file->path, NULL);
      g_autofree char *parent = g_path_get_dirname (path);
      gsize len = 0;
      const char *data = g_bytes_get_data (file->data, &len);
      if (g_mkdir_with_parents (parent, 0755) < 0)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", parent, g_strerror (errno));
          return FALSE;
        }
      if (!g_file_set_contents (path, data, len, error))
        return FALSE;
      printf ("%s\n", path);
      out->written++;
    }
  return TRUE;
}

/* DIR/steps-DOMAIN/NN-STEP.txt: what provisioning runs in the machine,
 * in order, for review. */
static gboolean
emit_steps (Output *out, const NlLab *lab, const NlMachine *machine, GError **error)
{
  g_autofree char *domain = nl_lab_domain_name (lab, machine);
  g_autofree char *folder = g_strdup_printf ("steps-%s", domain);
  g_autofree char *dir = g_build_filename (out->out_dir, folder, NULL);

  if (machine->steps->len > 0 && g_mkdir_with_parents (dir, 0755) < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; i < machine->steps->len; i++)
    {
      NlStep *st = machine->steps->pdata[i];
      g_autofree char *name = g_strdup_printf ("%02u-%s.txt", i + 1, st->name);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr (GString) text = g_string_new (NULL);
      g_autofree char *after = st->after && st->after[0] ? g_strjoinv (" ", st->after) : g_strdup ("-");
      g_autofree char *secrets = st->secrets && st->secrets[0] ? g_strjoinv (" ", st->secrets) : g_strdup ("-");

      g_string_append_printf (text, "# step %s of %s (%s)\n# action: %s\n# after: %s\n"
                              "# timeout: %us, retries: %u, idempotent: %s\n# secrets: %s\n", st->name,
                              machine->name, st->origin ? st->origin : "template",
                              nl_step_kind_to_string (st->kind), after, st->timeout, st->retries,
                              st->idempotent ? "yes" : "no", secrets);
      switch (st->kind)
        {
        case NL_STEP_RUN:
        case NL_STEP_SCRIPT:
        case NL_STEP_WAIT:
          if (st->file)
            g_string_append_printf (text, "# file: %s\n", st->file);
          if (st->kind == NL_STEP_WAIT)
            g_string_append_printf (text, "# probe every %us until it succeeds\n", st->interval);
          g_string_append_len (text, st->text, (gssize) st->text_len);
          if (st->text_len > 0 && st->text[st->text_len - 1] != '\n')
            g_string_append_c (text, '\n');
          break;
        case NL_STEP_EXEC:
          for (char **a = st->argv; a && *a; a++)
            g_string_append_printf (text, "%s\n", *a);
          break;
        case NL_STEP_COPY:
          g_string_append_printf (text, "%s -> %s (%" G_GSIZE_FORMAT " bytes)\n", st->file, st->to, st->text_len);
          break;
        case NL_STEP_REBOOT:
        case NL_STEP_KIND_LAST:
          break;
        }
      if (!g_file_set_contents (path, text->str, (gssize) text->len, error))
        return FALSE;
      printf ("%s\n", path);
      out->written++;
    }
  return TRUE;
}

int
nl_cmd_render (NlCli *cli, int argc, char **argv, GError **error)
{
  RenderOptions opts = { 0 };
  g_autoptr (GHashTable) overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (NlLab) lab = NULL;
  g_autoptr (GPtrArray) volumes = NULL;
  g_autoptr (GPtrArray) media = NULL;
  NlRenderOptions options = { 0 };
  Output out = { 0 };

  if (!nl_cli_parse (cli, &opts, &argc, &argv, error))
    return -1;
  for (char **s = opts.sets; s && *s; s++)
    if (!nl_template_parse_override (overrides, *s, error))
      return -1;
  if (opts.vendor != NULL)
    {
      int v = nl_cpu_vendor_from_string (opts.vendor);
      if (v != NL_CPU_VENDOR_INTEL && v != NL_CPU_VENDOR_AMD)
        {
          nl_cli_usage_error (error, "--vendor '%s': expected intel or amd", opts.vendor);
          return -1;
        }
      options.vendor = v;
    }
  else
    options.vendor = nl_host_cpu_vendor (NULL);
  options.emulate = opts.emulate;
  options.config_disk = TRUE;   /* as up defines machines */

  lab = nl_template_load (argv[1], overrides, error);
  if (lab == NULL)
    return -1;
  if (opts.out_dir != NULL && (media = build_media (lab, error)) == NULL)
    return -1;

  if (opts.out_dir != NULL)
    {
      if (g_mkdir_with_parents (opts.out_dir, 0755) < 0)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", opts.out_dir, g_strerror (errno));
          return -1;
        }
      out.out_dir = opts.out_dir;
    }

  /* Everything is rendered before anything is written, so an error leaves
   * no partial output directory behind. */
  {
    g_autoptr (GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) xmlFreeDoc);
    g_autoptr (GPtrArray) kinds = g_ptr_array_new ();
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

    for (guint i = 0; i < lab->networks->len; i++)
      {
        NlNetwork *net = g_ptr_array_index (lab->networks, i);
        xmlDocPtr doc = nl_render_network (lab, net, &options, error);
        if (doc == NULL)
          return -1;
        g_ptr_array_add (docs, doc);
        g_ptr_array_add (kinds, (gpointer) "network");
        g_ptr_array_add (names, nl_lab_network_name (lab, net));
      }
    volumes = nl_render_volume_specs (lab, &options);
    for (guint i = 0; i < volumes->len; i++)
      {
        NlVolumeSpec *spec = g_ptr_array_index (volumes, i);
        xmlDocPtr doc = nl_render_volume (spec, error);
        if (doc == NULL)
          return -1;
        g_ptr_array_add (docs, doc);
        g_ptr_array_add (kinds, (gpointer) "volume");
        g_ptr_array_add (names, g_strdup (spec->name));
      }
    for (guint i = 0; i < lab->machines->len; i++)
      {
        NlMachine *m = g_ptr_array_index (lab->machines, i);
        xmlDocPtr doc = nl_render_domain (lab, m, &options, error);
        if (doc == NULL)
          return -1;
        g_ptr_array_add (docs, doc);
        g_ptr_array_add (kinds, (gpointer) "domain");
        g_ptr_array_add (names, nl_lab_domain_name (lab, m));
      }
    for (guint i = 0; i < docs->len; i++)
      if (!emit (&out, g_ptr_array_index (kinds, i), g_ptr_array_index (names, i),
                 g_ptr_array_index (docs, i), error))
        return -1;
    for (guint i = 0; media != NULL && i < media->len; i++)
      if (g_ptr_array_index (media, i) != NULL
          && !emit_media (&out, lab, g_ptr_array_index (lab->machines, i), g_ptr_array_index (media, i), error))
        return -1;
    for (guint i = 0; out.out_dir != NULL && i < lab->machines->len; i++)
      if (!emit_steps (&out, lab, g_ptr_array_index (lab->machines, i), error))
        return -1;
  }
  if (out.out_dir != NULL)
    fprintf (stderr, "lab '%s': %u files written to %s\n", lab->name, out.written, out.out_dir);
  return 0;
}
