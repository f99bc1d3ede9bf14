/* Benchmark: `up` (define-only) and `destroy` of an N-machine lab through
 * nestlab's lab module (plan, marks, parallel workers) against a plain
 * serial loop of the same libvirt calls with the same XML. Prints times and
 * ratios (nestlab / serial); asserts nothing about speed.
 * Usage: bench-up-destroy [MACHINES] [URI]  (default 50, qemu:///system) */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <nestlab/error.h>
#include <nestlab/lab.h>
#include <nestlab/template.h>
#include "virt-private.h"

static char *
write_template (const char *dir, const char *lab, guint machines)
{
  g_autofree char *text = g_strdup_printf (
    "<lab name=\"%s\" pool=\"default\">\n"
    "  <network name=\"net\" mode=\"isolated\" subnet=\"10.213.250.0/24\"/>\n"
    "  <machine name=\"m###\" count=\"%u\" os=\"linux\" vcpus=\"1\" memory=\"128MiB\" firmware=\"bios\">\n"
    "    <disk size=\"64MiB\" bus=\"virtio\"/>\n"
    "    <nic network=\"net\" model=\"virtio\"/>\n"
    "  </machine>\n"
    "</lab>\n", lab, machines);
  char *path = g_build_filename (dir, "bench-lab.xml", NULL);
  if (!g_file_set_contents (path, text, -1, NULL))
    {
      fprintf (stderr, "cannot write %s\n", path);
      exit (1);
    }
  return path;
}

static NlPlan *
plan (virConnectPtr conn, NlLab *lab, const NlLabOptions *o)
{
  g_autoptr (GError) error = NULL;
  NlPlan *p = nl_lab_plan_up (conn, lab, o, &error);
  if (p == NULL)
    {
      fprintf (stderr, "plan: %s\n", error->message);
      exit (1);
    }
  return p;
}

/* The same calls nestlab makes, one after the other. */
static double
serial_up (virConnectPtr conn, NlPlan *p)
{
  g_autoptr (GTimer) t = g_timer_new ();
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, "default");
  for (guint i = 0; i < p->items->len; i++)
    {
      NlPlanItem *it = p->items->pdata[i];
      if (it->action != NL_PLAN_CREATE)
        continue;
      if (it->kind == NL_OBJECT_NETWORK)
        {
          virNetworkPtr n = virNetworkDefineXML (conn, it->xml);
          if (!n || virNetworkCreate (n) < 0 || virNetworkSetAutostart (n, 1) < 0)
            exit (1);
          virNetworkFree (n);
        }
      else if (it->kind == NL_OBJECT_DOMAIN)
        {
          virDomainPtr d = virDomainDefineXMLFlags (conn, it->xml, VIR_DOMAIN_DEFINE_VALIDATE);
          if (!d)
            exit (1);
          virDomainFree (d);
        }
      else if (it->kind == NL_OBJECT_VOLUME)
        {
          virStorageVolPtr v = virStorageVolCreateXML (pool, it->xml, 0);
          if (!v)
            exit (1);
          virStorageVolFree (v);
        }
    }
  return g_timer_elapsed (t, NULL);
}

static double
serial_destroy (virConnectPtr conn, NlPlan *p)
{
  g_autoptr (GTimer) t = g_timer_new ();
  g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, "default");
  for (guint i = 0; i < p->items->len; i++)
    {
      NlPlanItem *it = p->items->pdata[i];
      if (it->kind == NL_OBJECT_VOLUME)
        {
          virStorageVolPtr v = virStorageVolLookupByName (pool, it->name);
          if (v)
            {
              virStorageVolDelete (v, 0);
              virStorageVolFree (v);
            }
        }
    }
  for (guint i = 0; i < p->items->len; i++)
    {
      NlPlanItem *it = p->items->pdata[i];
      if (it->kind == NL_OBJECT_DOMAIN)
        {
          virDomainPtr d = virDomainLookupByName (conn, it->name);
          if (d)
            {
              virDomainUndefineFlags (d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                                      | VIR_DOMAIN_UNDEFINE_NVRAM);
              virDomainFree (d);
            }
        }
      else if (it->kind == NL_OBJECT_NETWORK)
        {
          virNetworkPtr n = virNetworkLookupByName (conn, it->name);
          if (n)
            {
              virNetworkDestroy (n);
              virNetworkUndefine (n);
              virNetworkFree (n);
            }
        }
    }
  virResetLastError ();
  return g_timer_elapsed (t, NULL);
}

int
main (int argc, char **argv)
{
  guint machines = argc > 1 ? (guint) atoi (argv[1]) : 50;
  const char *uri = argc > 2 ? argv[2] : "qemu:///system";
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nlbench-XXXXXX", NULL);
  g_autofree char *lab_name = g_strdup_printf ("nlbench%d", (int) getpid ());
  g_autofree char *file = write_template (dir, lab_name, machines);
  g_autoptr (NlLab) lab = nl_template_load (file, NULL, &error);
  g_autoptr (virConnect) conn = NULL;
  NlLabOptions o = { .define_only = TRUE };
  double up_nl, destroy_nl, up_serial, destroy_serial;

  if (lab == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  conn = nl_virt_connect (uri, &error);
  if (conn == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  {
    g_autoptr (NlPlan) p = plan (conn, lab, &o);
    g_autoptr (NlReport) r = nl_report_new ();
    g_autoptr (NlReport) r2 = nl_report_new ();
    g_autoptr (GTimer) t = g_timer_new ();
    if (!nl_lab_up (conn, p, &o, r, &error))
      {
        fprintf (stderr, "up: %s\n", error->message);
        nl_lab_destroy (conn, lab_name, &o, r2, NULL);
        return 1;
      }
    up_nl = g_timer_elapsed (t, NULL);
    g_timer_start (t);
    if (!nl_lab_destroy (conn, lab_name, &o, r2, &error))
      {
        fprintf (stderr, "destroy: %s\n", error->message);
        return 1;
      }
    destroy_nl = g_timer_elapsed (t, NULL);
  }
  {
    g_autoptr (NlPlan) p = plan (conn, lab, &o);
    up_serial = serial_up (conn, p);
    destroy_serial = serial_destroy (conn, p);
  }
  g_unlink (file);
  g_rmdir (dir);
  printf ("%u machines, define-only, on %s (nestlab: %u workers)\n", machines, uri, 4u);
  printf ("  up:      nestlab %.2f s, serial loop %.2f s, ratio %.2f\n", up_nl, up_serial, up_nl / up_serial);
  printf ("  destroy: nestlab %.2f s, serial loop %.2f s, ratio %.2f\n", destroy_nl, destroy_serial,
          destroy_nl / destroy_serial);
  printf ("  (ratio < 1: nestlab is faster; nestlab also plans, checks marks and re-reads them)\n");
  return 0;
}
