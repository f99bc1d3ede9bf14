# nestlab host script: what a Windows Hyper-V host of a lab runs, before a
# host rollout decides what to do with its VMs (and after the host's reboot,
# to see it back). Reads only: it changes nothing on the host.
#
# Parameters: none.
#
# Output (stdout, one JSON document, ConvertTo-Json -Depth 5 -Compress):
#   computer                  string       this host's computer name
#   ok                        bool         false when the inventory failed
#   error                     string|null  why it failed
#   hyperv_service            string|null  the Hyper-V service (vmms): Running, Stopped, ...; null if absent
#   reboot_required           bool         Windows Update waits for a restart (Microsoft.Update.SystemInfo)
#   cluster_node              bool         a failover cluster node (FailoverClusters module, Get-ClusterNode)
#   cluster                   string|null  the cluster's name
#   node_state                string|null  the node's state: Up, Down, Paused, Joining
#   drain_status              string|null  the node's drain status: NotInitiated, InProgress, Completed, Failed
#   vms[]                     array        each VM of this host (Get-VM), by name
#   vms[].name                string       its name (not unique in Hyper-V: the id is)
#   vms[].id                  string       its id, a GUID in lower case
#   vms[].state               string       Running, Off, Saved, Paused, ...
#   vms[].nested              bool         a nested hypervisor (ExposeVirtualizationExtensions)
#   vms[].automatic_stop_action string     what Hyper-V does when the host shuts down: TurnOff, Save, ShutDown
#   vms[].clustered           bool         a clustered role (a VirtualMachine cluster group)
#   vms[].group               string|null  its cluster group
#   vms[].owner_node          string|null  the node that owns that group
#
# Exit codes:
#   0  the inventory is on stdout
#   1  it failed; the JSON document says why (ok false, error)
#
# State left behind: none.
param()
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot 'nestlab-host-lib.ps1')

$result = [ordered]@{
    computer = $env:COMPUTERNAME; ok = $false; error = $null; hyperv_service = $null
    reboot_required = $false; cluster_node = $false; cluster = $null; node_state = $null
    drain_status = $null; vms = @()
}
try {
    $service = Get-Service -Name vmms -ErrorAction SilentlyContinue
    if ($service) { $result.hyperv_service = "$($service.Status)" }
    $result.reboot_required = [bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired

    $cluster = Get-NestlabClusterInfo
    $result.cluster_node = $cluster.node
    $result.cluster = $cluster.name
    $result.node_state = $cluster.node_state
    $result.drain_status = $cluster.drain_status

    $vms = [System.Collections.Generic.List[object]]::new()
    foreach ($vm in @(Get-VM | Sort-Object -Property Name)) {
        $id = "$($vm.Id)".ToLowerInvariant()
        $role = $cluster.groups[$id]
        $group = $null
        $owner = $null
        if ($role) {
            $group = $role.group
            $owner = $role.owner_node
        }
        $vms.Add([ordered]@{
            name = $vm.Name; id = $id; state = "$($vm.State)"; nested = (Test-NestlabNestedVM -VM $vm)
            automatic_stop_action = "$($vm.AutomaticStopAction)"; clustered = [bool]$role
            group = $group; owner_node = $owner
        })
    }
    $result.vms = $vms.ToArray()
    $result.ok = $true
    Write-NestlabHostLog "$($vms.Count) VMs; cluster node: $($result.cluster_node)"
} catch {
    $result.error = "$($_.Exception.Message)"
    Write-NestlabHostLog "inventory failed: $($result.error)"
    Write-NestlabJson $result
    exit 1
}
Write-NestlabJson $result
exit 0
