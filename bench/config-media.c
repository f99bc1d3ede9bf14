/* Benchmark: the config media of a generated lab of N machines (default
 * 500: a domain controller, Windows members with two NICs, Linux machines),
 * per machine, against a baseline measured in the same run: rendering the
 * same machines' libvirt domain XML (the per-machine work `up` already
 * does). Three phases: the contents (Unattend.xml or the cloud-init seed,
 * with secrets, so Linux pays a SHA-512 crypt hash), the contents masked
 * (what render --out writes), and the ISO images (libisofs, in memory).
 * Never asserts on time. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <nestlab/iso.h>
#include <nestlab/media.h>
#include <nestlab/render.h>
#include <nestlab/secret.h>
#include <nestlab/template.h>

static char *
generate (guint machines)
{
  GString *s = g_string_new ("<lab name=\"bench\" admin-password=\"local\">\n");
  g_autofree char *path = NULL;
  int fd;

  g_string_append (s,
    "  <domain name=\"bench.nestlab.test\" controller=\"dc01\" admin-password=\"domain\"/>\n"
    "  <secret name=\"local\" env=\"NL_BENCH_LOCAL\"/>\n"
    "  <secret name=\"domain\" env=\"NL_BENCH_DOMAIN\"/>\n"
    "  <image name=\"ws\" os=\"win2k22\" volume=\"ws2022.qcow2\"/>\n"
    "  <image name=\"deb\" os=\"debian12\" path=\"/srv/deb.qcow2\"/>\n"
    "  <network name=\"mgmt\" subnet=\"10.100.0.0/16\"><dhcp start=\"10.100.200.1\" end=\"10.100.255.200\"/></network>\n"
    "  <network name=\"storage\" subnet=\"10.101.0.0/16\"/>\n"
    "  <profile name=\"win\" os=\"win2k22\" vcpus=\"2\" memory=\"4GiB\" rdp=\"yes\"><disk image=\"ws\"/><nic network=\"mgmt\"/></profile>\n"
    "  <profile name=\"lnx\" vcpus=\"1\" memory=\"1GiB\"><disk image=\"deb\"/><nic network=\"mgmt\"/>\n"
    "    <ssh-key>ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyOnlyNotReal bench@nestlab</ssh-key></profile>\n"
    "  <machine name=\"dc01\" profile=\"win\" role=\"domain-controller\"><nic network=\"mgmt\" ip=\"10.100.0.10\"/></machine>\n");
  for (guint i = 1; i < machines; i++)
    {
      if (i % 3 == 0)
        g_string_append_printf (s,
          "  <machine name=\"l%04u\" profile=\"lnx\" after=\"dc01\"><nic network=\"mgmt\" ip=\"10.100.%u.%u\"/></machine>\n",
          i, 1 + i / 200, 1 + i % 200);
      else
        g_string_append_printf (s,
          "  <machine name=\"w%04u\" profile=\"win\" role=\"%s\" after=\"dc01\">\n"
          "    <nic network=\"mgmt\" ip=\"10.100.%u.%u\"/><nic network=\"storage\" ip=\"10.101.%u.%u\"/>\n"
          "  </machine>\n", i, i % 5 == 0 ? "hyperv-host" : "generic",
          1 + i / 200, 1 + i % 200, 1 + i / 200, 1 + i % 200);
    }
  g_string_append (s, "</lab>\n");
  fd = g_file_open_tmp ("nl-bench-media-XXXXXX.xml", &path, NULL);
  if (fd < 0)
    exit (1);
  close (fd);
  g_file_set_contents (path, s->str, s->len, NULL);
  g_string_free (s, TRUE);
  return g_steal_pointer (&path);
}

typedef struct {
  NlLab *lab;
  GHashTable *secrets;
  GBytes *key;
} Bench;

static gsize
render_domains (Bench *b)
{
  NlRenderOptions options = { .vendor = NL_CPU_VENDOR_INTEL, .config_disk = TRUE };
  gsize bytes = 0;
  for (guint i = 0; i < b->lab->machines->len; i++)
    {
      xmlDocPtr doc = nl_render_domain (b->lab, g_ptr_array_index (b->lab->machines, i), &options, NULL);
      g_autofree char *text = nl_render_to_string (doc);
      bytes += strlen (text);
      xmlFreeDoc (doc);
    }
  return bytes;
}

static gsize
media_with (Bench *b, gboolean masked, gboolean iso)
{
  NlMediaOptions options = { .secrets = b->secrets, .digest_key = b->key, .masked = masked };
  gsize bytes = 0;
  for (guint i = 0; i < b->lab->machines->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (NlMedia) media = nl_media_build (b->lab, g_ptr_array_index (b->lab->machines, i), &options, &error);
      if (media == NULL)
        {
          fprintf (stderr, "media: %s\n", error->message);
          exit (1);
        }
      if (iso)
        {
          g_autoptr (GBytes) image = nl_iso_build (media->label, media->files, &error);
          if (image == NULL)
            {
              fprintf (stderr, "iso: %s\n", error->message);
              exit (1);
            }
          bytes += g_bytes_get_size (image);
        }
      else
        for (guint f = 0; f < media->files->len; f++)
          bytes += g_bytes_get_size (((NlMediaFile *) g_ptr_array_index (media->files, f))->data);
    }
  return bytes;
}

static gsize contents (Bench *b) { return media_with (b, FALSE, FALSE); }
static gsize masked (Bench *b) { return media_with (b, TRUE, FALSE); }
static gsize images (Bench *b) { return media_with (b, FALSE, TRUE); }

/* Seconds per run, best of ROUNDS; *BYTES from the last. */
static double
time_it (gsize (*fn) (Bench *), Bench *b, int rounds, gsize *bytes)
{
  double best = 1e9;
  for (int r = 0; r < rounds; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      *bytes = fn (b);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  return best;
}

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? atoi (argv[1]) : 500;
  g_autofree char *path = generate (n);
  g_autoptr (GError) error = NULL;
  Bench b = { 0 };
  gsize bytes_base = 0, bytes_contents = 0, bytes_masked = 0, bytes_iso = 0;
  double t_base, t_contents, t_masked, t_iso;
  guint windows = 0;

  g_setenv ("NL_BENCH_LOCAL", "Bench-Local-Passw0rd", TRUE);
  g_setenv ("NL_BENCH_DOMAIN", "Bench-Domain-Passw0rd", TRUE);
  b.lab = nl_template_load (path, NULL, &error);
  if (b.lab == NULL)
    {
      fprintf (stderr, "bench template invalid: %s\n", error->message);
      return 1;
    }
  b.secrets = nl_secret_resolve_all (b.lab, NULL, &error);
  if (b.secrets == NULL)
    {
      fprintf (stderr, "secrets: %s\n", error->message);
      return 1;
    }
  b.key = g_bytes_new_static ("bench-digest-key-of-32-bytes....", 32);
  for (guint i = 0; i < b.lab->machines->len; i++)
    windows += ((NlMachine *) g_ptr_array_index (b.lab->machines, i))->os_family == NL_OS_FAMILY_WINDOWS;

  render_domains (&b); /* warm-up */
  t_base = time_it (render_domains, &b, 5, &bytes_base);
  t_contents = time_it (contents, &b, 3, &bytes_contents);
  t_masked = time_it (masked, &b, 3, &bytes_masked);
  t_iso = time_it (images, &b, 3, &bytes_iso);

  printf ("config media of %u machines (%u Windows, %u Linux)\n", n, windows, n - windows);
  printf ("baseline (render each domain's XML): %.1f ms, %.0f us per machine\n", t_base * 1e3, t_base * 1e6 / n);
  printf ("contents with secrets: %.1f ms, %.0f us per machine, %.1fx baseline (%zu KiB)\n",
          t_contents * 1e3, t_contents * 1e6 / n, t_contents / t_base, bytes_contents / 1024);
  printf ("contents masked (render --out): %.1f ms, %.0f us per machine, %.1fx baseline\n",
          t_masked * 1e3, t_masked * 1e6 / n, t_masked / t_base);
  printf ("contents + ISO image in memory: %.1f ms, %.0f us per machine, %.1fx baseline (%zu KiB of images)\n",
          t_iso * 1e3, t_iso * 1e6 / n, t_iso / t_base, bytes_iso / 1024);
  g_hash_table_unref (b.secrets);
  g_bytes_unref (b.key);
  nl_lab_free (b.lab);
  g_unlink (path);
  return 0;
}
