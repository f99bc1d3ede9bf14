# nestlab host script: undoes what drain.ps1 did on a Windows Hyper-V host of
# a lab, after the host's updates and reboot (or after a drain that failed),
# from the state file the drain wrote: saved VMs are restored and shut-down
# VMs started (Start-VM; a clustered one with Start-ClusterGroup), VMs
# migrated to the peer are moved back when asked (-MigrateBack), and a
# drained cluster node is resumed with its roles failed back
# (Resume-ClusterNode -Failback Immediate). VMs the drain left alone (not
# running) stay as they are.
#
# Every step is recorded in the state file before it is taken and after, so
# a rerun finishes the resume without acting twice: a VM that runs already is
# recorded as resumed and skipped. Unlike the drain, the resume goes on past
# a VM that fails, to bring back as much as it can.
#
# Parameters:
#   -StateFile PATH  the state file drain.ps1 wrote (required)
#   -MigrateBack     move migrated VMs back from the peer (without it they stay there)
#   -Peer HOSTNAME   where migrated VMs are now, if not on the peer the state file records
#
# Output (stdout, one JSON document, ConvertTo-Json -Depth 5 -Compress):
#   computer                  string       this host's computer name
#   ok                        bool         true when everything drained is back (or stays on the peer, without -MigrateBack)
#   error                     string|null  what is not, naming each VM
#   state_file                string|null  the state file, as a full path
#   phase                     string|null  resuming, or resumed when done
#   cluster                   object|null  null on a host that is no cluster node
#   cluster.name              string       the cluster's name
#   cluster.node_state        string       the node's state now (Up once resumed)
#   cluster.resume            string       pending, resuming, resumed or failed
#   cluster.error             string|null  why the node did not resume
#   vms[]                     array        each VM the state file records
#   vms[].name                string       its name
#   vms[].id                  string       its id, a GUID in lower case
#   vms[].action              string       what the drain did: Save, ShutDown, Migrate, ClusterDrain or None
#   vms[].status              string       resumed; drained (stays on the peer); left (never touched); failed
#   vms[].done                string|null  what was done: restored, started, migrated back from PEER, ...
#   vms[].error               string|null  why it failed
#   warnings[]                array        strings: roles the failback did not bring back, ...
#
# Exit codes:
#   0  everything the drain did is undone (migrated VMs stay on the peer without -MigrateBack)
#   1  a VM (named in error) or the node did not come back, or there is no state file; a parameter
#      PowerShell itself rejects (no -StateFile) prints no JSON document
#
# State left behind: the state file (phase resumed, or resuming after a
# failure); the VMs running again; the cluster node up. A later drain.ps1
# with the same state file keeps this one as PATH.previous.
param(
    [Parameter(Mandatory = $true)]
    [string]$StateFile,
    [switch]$MigrateBack,
    [string]$Peer
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot 'nestlab-host-lib.ps1')

# How long a rebooted node may take to come back into its cluster.
$NodeTimeoutMinutes = 10

function Set-NestlabResumed {
    param($Entry, [string]$Done)
    $Entry.status = 'resumed'
    $Entry.done = $Done
    $Entry.error = $null
    $Entry.resumed_at = Get-NestlabTimestamp
    Write-NestlabHostLog "VM '$($Entry.name)': $Done"
}

# Waits until this node is back in its cluster (after a reboot its cluster
# service takes a while), resumes it if it is paused, and fails its drained
# roles back. A node the drain never touched is left as it is.
function Invoke-NestlabResumeNode {
    param($State)
    $record = $State.cluster
    if ($record.resume -eq 'resumed') { return }
    if ($record.drain -eq 'pending') {
        $record.resume = 'resumed'
        $record.resumed_at = Get-NestlabTimestamp
        Write-NestlabHostLog "cluster node $($env:COMPUTERNAME) was not drained: left as it is"
        return
    }
    Import-Module -Name FailoverClusters
    $deadline = (Get-Date).AddMinutes($NodeTimeoutMinutes)
    while ($true) {
        $node = $null
        $seen = 'not in a cluster'
        try {
            $node = Get-ClusterNode -Name $env:COMPUTERNAME -ErrorAction Stop
            $seen = "$($node.State)"
        } catch {
            $seen = "$($_.Exception.Message)"
        }
        if ($seen -eq 'Up' -or $seen -eq 'Paused') { break }
        if ((Get-Date) -gt $deadline) {
            throw "cluster node $($env:COMPUTERNAME) is not back in its cluster after $NodeTimeoutMinutes minutes ($seen)"
        }
        Start-Sleep -Seconds 10
    }
    if ("$($node.State)" -eq 'Paused') {
        $record.resume = 'resuming'
        $record.error = $null
        Write-NestlabHostState -Path $StateFile -State $State
        Write-NestlabHostLog "resuming cluster node $($env:COMPUTERNAME), failing its roles back"
        Resume-ClusterNode -Name $env:COMPUTERNAME -Failback Immediate | Out-Null
        $node = Get-ClusterNode -Name $env:COMPUTERNAME
    }
    if ("$($node.State)" -ne 'Up') {
        throw "cluster node $($env:COMPUTERNAME) is $($node.State) after Resume-ClusterNode"
    }
    $record.resume = 'resumed'
    $record.resumed_at = Get-NestlabTimestamp
    Write-NestlabHostState -Path $StateFile -State $State
}

# Brings one VM back by what the drain did to it, recording the step in the
# state file before and after. Throws, saying why, when it cannot.
function Invoke-NestlabResumeVM {
    param($Entry, $State)
    if ($Entry.action -eq 'ClusterDrain') {
        if ($State.cluster.resume -ne 'resumed') { throw 'its cluster node was not resumed' }
        $group = Get-ClusterGroup -Name $Entry.group -ErrorAction SilentlyContinue
        if ($null -eq $group) { throw "its cluster group '$($Entry.group)' is gone" }
        $owner = "$($group.OwnerNode)"
        if ($owner -ne $env:COMPUTERNAME) {
            $warnings.Add("VM '$($Entry.name)' stays on ${owner}: the failback did not bring it back")
        }
        Set-NestlabResumed $Entry "on $owner ($($group.State))"
        return
    }
    $vm = Find-NestlabVM -Id $Entry.id
    if ($null -ne $vm) { $vm = Wait-NestlabVMSettled -VM $vm }
    if ($null -ne $vm) {
        $now = "$($vm.State)"
        if ($now -eq 'Running') {
            Set-NestlabResumed $Entry 'running already'
            return
        }
        if ($now -eq 'Paused') {
            Set-NestlabResumed $Entry 'paused (by someone else): left so'
            return
        }
        $Entry.status = 'resuming'
        $Entry.error = $null
        Write-NestlabHostState -Path $StateFile -State $State
        if ($Entry.clustered) {
            Write-NestlabHostLog "VM '$($Entry.name)': starting its cluster group $($Entry.group)"
            Start-ClusterGroup -Name $Entry.group | Out-Null
        } else {
            Write-NestlabHostLog "VM '$($Entry.name)': starting ($now)"
            Start-VM -VM $vm
        }
        $after = Find-NestlabVM -Id $Entry.id
        if ($null -ne $after) { $after = Wait-NestlabVMSettled -VM $after }
        if ($null -eq $after -or "$($after.State)" -ne 'Running') {
            throw "it should run now but is $(if ($after) { $after.State } else { 'gone' })"
        }
        Set-NestlabResumed $Entry $(if ($now -eq 'Saved') { 'restored from its saved state' } else { 'started' })
        Write-NestlabHostState -Path $StateFile -State $State
        return
    }

    # Not on this host.
    if ($Entry.clustered) {
        # A clustered nested hypervisor, shut down, then moved while off.
        $group = Get-ClusterGroup -Name $Entry.group
        if ("$($group.State)" -ne 'Online') {
            $Entry.status = 'resuming'
            Write-NestlabHostState -Path $StateFile -State $State
            Start-ClusterGroup -Name $Entry.group | Out-Null
        }
        Set-NestlabResumed $Entry "started on $($group.OwnerNode)"
        Write-NestlabHostState -Path $StateFile -State $State
        return
    }
    if ($Entry.action -ne 'Migrate') { throw 'it is no longer on this host' }
    $from = $Entry.peer
    if ($Peer) {
        if ($Peer -ne $Entry.peer) { Write-NestlabHostLog "VM '$($Entry.name)': looking on $Peer, not on $($Entry.peer)" }
        $from = $Peer
    }
    $there = Find-NestlabVM -Id $Entry.id -ComputerName $from
    if ($null -eq $there) { throw "it is neither on this host nor on $from" }
    if (-not $MigrateBack) {
        $Entry.done = "stays on $from (no -MigrateBack)"
        Write-NestlabHostLog "VM '$($Entry.name)': $($Entry.done)"
        return
    }
    if (@(Get-VM -ComputerName $from | Where-Object { $_.Name -eq $there.Name }).Count -gt 1) {
        throw "$from has several VMs named '$($there.Name)': move it back by hand"
    }
    $Entry.status = 'resuming'
    $Entry.error = $null
    Write-NestlabHostState -Path $StateFile -State $State
    Write-NestlabHostLog "VM '$($Entry.name)': live-migrating back from $from"
    if ($Entry.storage_path) {
        Move-VM -ComputerName $from -Name $there.Name -DestinationHost $env:COMPUTERNAME -IncludeStorage `
            -DestinationStoragePath $Entry.storage_path
    } else {
        Move-VM -ComputerName $from -Name $there.Name -DestinationHost $env:COMPUTERNAME
    }
    if ($null -eq (Find-NestlabVM -Id $Entry.id)) { throw "Move-VM returned but the VM is not here" }
    Set-NestlabResumed $Entry "migrated back from $from"
    Write-NestlabHostState -Path $StateFile -State $State
}

$summary = [ordered]@{
    computer = $env:COMPUTERNAME; ok = $false; error = $null; state_file = $null; phase = $null
    cluster = $null; vms = @(); warnings = @()
}
$warnings = [System.Collections.Generic.List[string]]::new()
$failures = [System.Collections.Generic.List[string]]::new()
$state = $null
try {
    $StateFile = Resolve-NestlabPath $StateFile
    $summary.state_file = $StateFile
    $state = Read-NestlabHostState -Path $StateFile
    if ($null -eq $state) { throw "there is no state file ${StateFile}: nothing was drained with it" }
    if ($state.computer -ne $env:COMPUTERNAME) {
        throw "state file $StateFile is $($state.computer)'s, not this host's"
    }
    $entries = [System.Collections.Generic.List[object]]::new()
    foreach ($entry in $state.vms) { $entries.Add($entry) }
    $state.vms = $entries
    $state.phase = 'resuming'
    Write-NestlabHostState -Path $StateFile -State $state

    # The node first: its roles come back, then this host's own VMs start.
    if ($state.cluster) {
        try {
            Invoke-NestlabResumeNode -State $state
        } catch {
            $state.cluster.resume = 'failed'
            $state.cluster.error = "$($_.Exception.Message)"
            Write-NestlabHostState -Path $StateFile -State $state
            $failures.Add("cluster node $($env:COMPUTERNAME): $($state.cluster.error)")
        }
    }
    foreach ($entry in $entries) {
        if ($entry.status -eq 'resumed' -or $entry.status -eq 'left' -or $entry.action -eq 'None') { continue }
        if ($entry.status -eq 'pending') {
            # The drain stopped before it reached this VM.
            Set-NestlabResumed $entry 'never drained: nothing to undo'
            continue
        }
        try {
            Invoke-NestlabResumeVM -Entry $entry -State $state
        } catch {
            $entry.status = 'failed'
            $entry.error = "$($_.Exception.Message)"
            Write-NestlabHostState -Path $StateFile -State $state
            $failures.Add("VM '$($entry.name)' was not resumed ($($entry.action)): $($entry.error)")
        }
    }
    if ($failures.Count -eq 0) {
        $state.phase = 'resumed'
        $summary.ok = $true
    }
    Write-NestlabHostState -Path $StateFile -State $state
} catch {
    $failures.Add("$($_.Exception.Message)")
}

if ($failures.Count -gt 0) {
    $summary.error = $failures -join '; '
    Write-NestlabHostLog "resume failed: $($summary.error)"
}
$summary.warnings = $warnings.ToArray()
if ($state) {
    $summary.phase = $state.phase
    if ($state.cluster) {
        $nodeState = $null
        try { $nodeState = "$((Get-ClusterNode -Name $env:COMPUTERNAME).State)" } catch { $nodeState = 'unknown' }
        $summary.cluster = [ordered]@{
            name = $state.cluster.name; node_state = $nodeState; resume = $state.cluster.resume; error = $state.cluster.error
        }
    }
    $summary.vms = @(foreach ($entry in $state.vms) {
        [ordered]@{
            name = $entry.name; id = $entry.id; action = $entry.action; status = $entry.status
            done = $entry.done; error = $entry.error
        }
    })
}
Write-NestlabJson $summary
if ($failures.Count -gt 0) { exit 1 }
exit 0
