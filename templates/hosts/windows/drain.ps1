# nestlab host script: empties a Windows Hyper-V host of a lab before its
# updates and its reboot. Each running VM is saved, shut down or live-migrated
# to a peer host; on a failover cluster node, the cluster moves its clustered
# VMs (Suspend-ClusterNode -Drain) and the node is left paused. Nested
# hypervisors (VMs that expose the virtualization extensions) are shut down
# whatever was asked: saving or migrating a VM that runs VMs of its own is
# unsupported. VMs that are not running are left as they are.
#
# Every step is recorded in the state file BEFORE it is taken and again after
# it, so a rerun (after a crash, a timeout or a reboot) finishes the drain it
# began without acting twice: a VM already saved, off or moved is recorded as
# drained and skipped. A rerun keeps each VM's first planned action and peer.
# resume.ps1 undoes what this script did, from the same state file.
#
# Parameters:
#   -StopAction Save|ShutDown|Migrate  what happens to each running VM (default ShutDown)
#   -Overrides PATH          a JSON file {"VMNAME": "Save|ShutDown|Migrate", ...}: per-VM actions
#   -Peer HOSTNAME           where Migrate moves VMs (Move-VM -DestinationHost); needed for Migrate
#   -IncludeStorage          migrate a VM's storage too (shared-nothing live migration)
#   -DestinationStoragePath PATH  with -IncludeStorage: each VM's files go to PATH\VMNAME on the peer
#   -ShutdownTimeout SECONDS how long a guest may take to shut down before it is turned off (default 300)
#   -StateFile PATH          the state file (required); its folder is created if need be
#
# Output (stdout, one JSON document, ConvertTo-Json -Depth 5 -Compress):
#   computer                  string       this host's computer name
#   ok                        bool         true when every VM is drained (and the node, on a cluster)
#   error                     string|null  why not, naming the VM
#   state_file                string|null  the state file, as a full path
#   phase                     string|null  draining, or drained when done
#   cluster                   object|null  null on a host that is no cluster node
#   cluster.name              string       the cluster's name
#   cluster.node_state        string       the node's state now (Paused once drained)
#   cluster.drain             string       pending, draining, drained or failed
#   cluster.error             string|null  why the node drain failed
#   vms[]                     array        each VM of this host when the drain began (and since)
#   vms[].name                string       its name
#   vms[].id                  string       its id, a GUID in lower case
#   vms[].asked               string       the action asked for it: Save, ShutDown or Migrate
#   vms[].action              string       the action taken: Save, ShutDown, Migrate, ClusterDrain or None
#   vms[].reason              string       why that action (default, override, nested hypervisor, clustered, not running)
#   vms[].status              string       pending, draining, drained, failed or left (not running, untouched)
#   vms[].done                string|null  what was done: saved, shut down, turned off, migrated to PEER, ...
#   vms[].error               string|null  why it failed
#   warnings[]                array        strings: overrides naming no VM of this host, ...
#
# Exit codes:
#   0  every VM is drained (saved, off, or on the peer) and, on a cluster node, the node is paused and drained
#   1  a VM (named in error) or the node was not drained, or the parameters or the state file are wrong;
#      the drain stops at the first VM that fails, leaving the others running. A parameter
#      PowerShell itself rejects (an unknown -StopAction, no -StateFile) prints no JSON document
#
# State left behind: the state file (phase drained, or draining after a
# failure); saved, stopped or migrated VMs; on a cluster node, the node
# paused. Nothing is undone on failure: resume.ps1 does that.
param(
    [ValidateSet('Save', 'ShutDown', 'Migrate')]
    [string]$StopAction = 'ShutDown',
    [string]$Overrides,
    [string]$Peer,
    [switch]$IncludeStorage,
    [string]$DestinationStoragePath,
    [ValidateRange(0, 86400)]
    [int]$ShutdownTimeout = 300,
    [Parameter(Mandatory = $true)]
    [string]$StateFile
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ProgressPreference = 'SilentlyContinue'
. (Join-Path $PSScriptRoot 'nestlab-host-lib.ps1')

# Stop actions by their lower-case spelling (ValidateSet and JSON accept any case).
$StopActions = @{ save = 'Save'; shutdown = 'ShutDown'; migrate = 'Migrate' }

function Set-NestlabDrained {
    param($Entry, [string]$Done)
    $Entry.status = 'drained'
    $Entry.done = $Done
    $Entry.error = $null
    $Entry.drained_at = Get-NestlabTimestamp
    Write-NestlabHostLog "VM '$($Entry.name)': $Done"
}

# Asks the guest to shut down (Stop-VM, through the shutdown integration
# service) and waits until it is off; at the deadline, or at once when
# Hyper-V cannot ask the guest at all, turns it off (Stop-VM -TurnOff).
# Returns what happened.
function Stop-NestlabVMWithin {
    param($VM, [int]$Seconds)
    if ("$($VM.State)" -eq 'Paused') {
        Resume-VM -VM $VM          # a paused guest cannot shut itself down
    }
    Write-NestlabHostLog "VM '$($VM.Name)': shutting down (at most ${Seconds}s)"
    $job = Stop-VM -VM $VM -Force -AsJob
    $deadline = (Get-Date).AddSeconds($Seconds)
    try {
        while ($true) {
            $now = Find-NestlabVM -Id "$($VM.Id)"
            if ($null -eq $now) { throw 'it left this host while shutting down' }
            if ("$($now.State)" -eq 'Off') { return 'shut down' }
            if ("$($job.State)" -eq 'Failed') {
                $why = "$($job.ChildJobs[0].JobStateInfo.Reason)"
                Write-NestlabHostLog "VM '$($VM.Name)': the guest cannot be asked to shut down ($why)"
                $how = "turned off (the guest could not be asked to shut down: $why)"
                break
            }
            if ((Get-Date) -ge $deadline) {
                $how = "turned off (not shut down within ${Seconds}s)"
                break
            }
            Start-Sleep -Seconds 2
        }
        Stop-Job -Job $job           # stop waiting for the shutdown that did not come
        Stop-VM -VM $VM -TurnOff -Force
        return $how
    } finally {
        Remove-Job -Job $job -Force
    }
}

# Drains one VM of this host by its entry's action, recording the step in
# the state file before and after. Throws, saying why, when it cannot.
function Invoke-NestlabDrainVM {
    param($Entry, $State)
    $vm = Find-NestlabVM -Id $Entry.id
    if ($null -ne $vm) { $vm = Wait-NestlabVMSettled -VM $vm }
    if ($null -eq $vm) {
        if ($Entry.action -eq 'Migrate' -and (Find-NestlabVM -Id $Entry.id -ComputerName $Entry.peer)) {
            if ($Entry.status -ne 'drained') { Set-NestlabDrained $Entry "already on $($Entry.peer)" }
            return
        }
        if ($Entry.clustered) {
            if ($Entry.status -ne 'drained') { Set-NestlabDrained $Entry 'already on another node' }
            return
        }
        throw 'it is no longer on this host'
    }
    $now = "$($vm.State)"
    if ($now -eq 'Off' -or $now -eq 'Saved') {
        # Off or saved is drained, whatever the action: nothing of it runs.
        if ($Entry.status -ne 'drained') { Set-NestlabDrained $Entry "already $($now.ToLowerInvariant())" }
        return
    }
    if ($Entry.status -eq 'drained') {
        Write-NestlabHostLog "VM '$($Entry.name)' was drained but is $now again: draining it again"
    }

    $Entry.status = 'draining'
    $Entry.error = $null
    Write-NestlabHostState -Path $StateFile -State $State
    switch ($Entry.action) {
        'Save' {
            Write-NestlabHostLog "VM '$($Entry.name)': saving"
            Save-VM -VM $vm
            $done = 'saved'
            $want = 'Saved'
        }
        'ShutDown' {
            $done = Stop-NestlabVMWithin -VM $vm -Seconds $ShutdownTimeout
            $want = 'Off'
        }
        'Migrate' {
            Write-NestlabHostLog "VM '$($Entry.name)': live-migrating to $($Entry.peer)"
            if ($Entry.storage_path -and $DestinationStoragePath) {
                Move-VM -VM $vm -DestinationHost $Entry.peer -IncludeStorage `
                    -DestinationStoragePath (Join-Path $DestinationStoragePath $vm.Name)
            } elseif ($Entry.storage_path) {
                Move-VM -VM $vm -DestinationHost $Entry.peer -IncludeStorage
            } else {
                Move-VM -VM $vm -DestinationHost $Entry.peer
            }
            $done = "migrated to $($Entry.peer)"
            $want = $null
        }
        default { throw "unknown action '$($Entry.action)' in the state file" }
    }
    $after = Find-NestlabVM -Id $Entry.id
    if ($null -eq $want -and $null -ne $after) {
        throw "Move-VM returned but the VM is still here ($($after.State))"
    }
    if ($null -ne $want -and ($null -eq $after -or "$($after.State)" -ne $want)) {
        throw "it should be $want now but is $(if ($after) { $after.State } else { 'gone' })"
    }
    Set-NestlabDrained $Entry $done
    Write-NestlabHostState -Path $StateFile -State $State
}

# Pauses this cluster node and lets the cluster move its roles away
# (Suspend-ClusterNode -Drain -Wait), unless it is paused and drained already.
function Invoke-NestlabDrainNode {
    param($State)
    $record = $State.cluster
    $node = Get-ClusterNode -Name $env:COMPUTERNAME
    $deadline = (Get-Date).AddMinutes(30)
    while ("$($node.DrainStatus)" -eq 'InProgress' -and (Get-Date) -lt $deadline) {
        # A drain started before a crash is still running: let it finish.
        Start-Sleep -Seconds 5
        $node = Get-ClusterNode -Name $env:COMPUTERNAME
    }
    if ("$($node.State)" -eq 'Paused' -and "$($node.DrainStatus)" -eq 'Completed') {
        if ($record.drain -ne 'drained') {
            $record.drain = 'drained'
            $record.drained_at = Get-NestlabTimestamp
            Write-NestlabHostLog "cluster node $($env:COMPUTERNAME) is paused and drained already"
        }
    } else {
        if ("$($node.State)" -ne 'Up' -and "$($node.State)" -ne 'Paused') {
            throw "cluster node $($env:COMPUTERNAME) is $($node.State): it cannot be drained"
        }
        $record.drain = 'draining'
        $record.error = $null
        Write-NestlabHostState -Path $StateFile -State $State
        Write-NestlabHostLog "draining cluster node $($env:COMPUTERNAME) of cluster $($record.name)"
        Suspend-ClusterNode -Name $env:COMPUTERNAME -Drain -Wait | Out-Null
        $node = Get-ClusterNode -Name $env:COMPUTERNAME
        if ("$($node.State)" -ne 'Paused' -or "$($node.DrainStatus)" -ne 'Completed') {
            $left = @(Get-ClusterGroup | Where-Object {
                "$($_.OwnerNode)" -eq $env:COMPUTERNAME -and "$($_.State)" -eq 'Online' -and "$($_.GroupType)" -eq 'VirtualMachine'
            } | ForEach-Object { $_.Name })
            throw ("the drain of cluster node $($env:COMPUTERNAME) ended $($node.State), drain $($node.DrainStatus); " +
                   "roles still here: $(if ($left) { $left -join ', ' } else { 'none' })")
        }
        $record.drain = 'drained'
        $record.drained_at = Get-NestlabTimestamp
    }
    foreach ($entry in $State.vms) {
        if ($entry.action -ne 'ClusterDrain' -or $entry.status -eq 'drained') { continue }
        $group = Get-ClusterGroup -Name $entry.group -ErrorAction SilentlyContinue
        if ($group) {
            Set-NestlabDrained $entry "moved by the cluster to $($group.OwnerNode)"
        } else {
            Set-NestlabDrained $entry "moved by the cluster (its group '$($entry.group)' is gone now)"
        }
    }
    Write-NestlabHostState -Path $StateFile -State $State
}

$summary = [ordered]@{
    computer = $env:COMPUTERNAME; ok = $false; error = $null; state_file = $null; phase = $null
    cluster = $null; vms = @(); warnings = @()
}
$warnings = [System.Collections.Generic.List[string]]::new()
$state = $null
$failure = $null
try {
    $StateFile = Resolve-NestlabPath $StateFile
    $summary.state_file = $StateFile
    $StopAction = $StopActions[$StopAction.ToLowerInvariant()]
    if ($Peer -and $Peer -eq $env:COMPUTERNAME) { throw "-Peer $Peer is this host" }
    if ($DestinationStoragePath -and -not $IncludeStorage) {
        throw '-DestinationStoragePath is for -IncludeStorage, which was not given'
    }

    # Per-VM actions from -Overrides.
    $asked = @{}
    if ($Overrides) {
        $table = ConvertTo-NestlabHashtable (ConvertFrom-Json -InputObject (Get-Content -Raw -LiteralPath $Overrides))
        if ($table -isnot [System.Collections.IDictionary]) {
            throw "-Overrides ${Overrides}: expected one JSON object, {`"VMNAME`": `"Save|ShutDown|Migrate`"}"
        }
        foreach ($name in @($table.Keys)) {
            $value = "$($table[$name])".ToLowerInvariant()
            if (-not $StopActions.ContainsKey($value)) {
                throw "-Overrides ${Overrides}: VM '$name' has stop action '$($table[$name])'; use Save, ShutDown or Migrate"
            }
            $asked[$name] = $StopActions[$value]
        }
    }

    $state = Read-NestlabHostState -Path $StateFile
    if ($state) {
        if ($state.computer -ne $env:COMPUTERNAME) {
            throw "state file $StateFile is $($state.computer)'s, not this host's"
        }
        if ($state.phase -eq 'resuming') {
            throw "the resume recorded in $StateFile did not finish: run resume.ps1 again before a new drain"
        }
        if ($state.phase -eq 'resumed') {
            Move-Item -LiteralPath $StateFile -Destination "$StateFile.previous" -Force
            Write-NestlabHostLog "the cycle in $StateFile is finished; kept as $StateFile.previous, starting a new one"
            $state = $null
        } else {
            Write-NestlabHostLog "continuing the drain recorded in $StateFile (phase $($state.phase))"
        }
    }
    if (-not $state) {
        $state = [ordered]@{
            version = 1; computer = $env:COMPUTERNAME; phase = 'draining'; started = Get-NestlabTimestamp; updated = $null
            asked = [ordered]@{
                stop_action = $StopAction; overrides = $asked; peer = $(if ($Peer) { $Peer } else { $null })
                include_storage = [bool]$IncludeStorage; shutdown_timeout = $ShutdownTimeout
            }
            cluster = $null; vms = @()
        }
    }
    $state.phase = 'draining'
    $entries = [System.Collections.Generic.List[object]]::new()
    foreach ($entry in $state.vms) { $entries.Add($entry) }
    $state.vms = $entries

    $cluster = Get-NestlabClusterInfo
    if ($cluster.node -and $null -eq $state.cluster) {
        $state.cluster = [ordered]@{
            name = $cluster.name; drain = 'pending'; drained_at = $null; resume = 'pending'; resumed_at = $null; error = $null
        }
    } elseif (-not $cluster.node -and $null -ne $state.cluster) {
        throw "$StateFile records a drain of cluster node $($env:COMPUTERNAME), but the cluster does not know this host now"
    }

    # The plan: an entry for each VM not seen yet, recorded before anything is done.
    foreach ($vm in @(Get-VM | Sort-Object -Property Name)) {
        $id = "$($vm.Id)".ToLowerInvariant()
        if (@($entries | Where-Object { $_.id -eq $id }).Count -gt 0) { continue }
        $vm = Wait-NestlabVMSettled -VM $vm
        if ($null -eq $vm) { continue }
        $nested = Test-NestlabNestedVM -VM $vm
        $role = $cluster.groups[$id]
        $want = $StopAction
        $reason = 'default (-StopAction)'
        if ($asked.ContainsKey($vm.Name)) {
            $want = $asked[$vm.Name]
            $reason = 'override (-Overrides)'
        }
        $entry = [ordered]@{
            name = $vm.Name; id = $id; state_before = "$($vm.State)"; nested = $nested; clustered = [bool]$role
            group = $(if ($role) { $role.group } else { $null }); asked = $want; action = $want; reason = $reason
            peer = $null; storage_path = $null; status = 'pending'; done = $null; drained_at = $null
            resumed_at = $null; error = $null
        }
        if ($entry.state_before -ne 'Running' -and $entry.state_before -ne 'Paused') {
            $entry.action = 'None'
            $entry.reason = "not running ($($entry.state_before)): left as it is"
            $entry.status = 'left'
        } elseif ($role -and $nested) {
            $entry.action = 'ShutDown'
            $entry.reason = 'nested hypervisor in a clustered role: shut down before the node drains, which would live-migrate it'
        } elseif ($role) {
            $entry.action = 'ClusterDrain'
            $entry.reason = 'clustered role: the node drain moves it'
        } elseif ($nested) {
            $entry.action = 'ShutDown'
            if ($want -ne 'ShutDown') {
                $entry.reason = "nested hypervisor: $want is unsupported for a VM that runs VMs of its own, shut down instead"
            } else {
                $entry.reason = "nested hypervisor; $reason"
            }
        }
        if ($entry.action -eq 'Migrate') {
            $entry.peer = $(if ($Peer) { $Peer } else { $null })
            if ($IncludeStorage) { $entry.storage_path = $vm.Path }
        }
        $entries.Add($entry)
    }
    foreach ($name in @($asked.Keys)) {
        if (@($entries | Where-Object { $_.name -eq $name }).Count -eq 0) {
            $warnings.Add("-Overrides names VM '$name', which is not on this host")
        }
    }
    $unplaced = @($entries | Where-Object { $_.action -eq 'Migrate' -and -not $_.peer } | ForEach-Object { $_.name })
    if ($unplaced) {
        throw "VM '$($unplaced -join "', '")' is to be migrated, but no -Peer was given"
    }
    Write-NestlabHostState -Path $StateFile -State $state

    # This host's own VMs first (clustered nested hypervisors among them),
    # then the node: the cluster moves what is left of its roles.
    foreach ($entry in $entries) {
        if ($entry.action -eq 'None' -or $entry.action -eq 'ClusterDrain') { continue }
        try {
            Invoke-NestlabDrainVM -Entry $entry -State $state
        } catch {
            $entry.status = 'failed'
            $entry.error = "$($_.Exception.Message)"
            Write-NestlabHostState -Path $StateFile -State $state
            throw "VM '$($entry.name)' was not drained ($($entry.action)): $($entry.error)"
        }
    }
    if ($state.cluster) {
        try {
            Invoke-NestlabDrainNode -State $state
        } catch {
            $state.cluster.drain = 'failed'
            $state.cluster.error = "$($_.Exception.Message)"
            Write-NestlabHostState -Path $StateFile -State $state
            throw
        }
    }
    $state.phase = 'drained'
    Write-NestlabHostState -Path $StateFile -State $state
    $summary.ok = $true
} catch {
    $failure = "$($_.Exception.Message)"
    Write-NestlabHostLog "drain failed: $failure"
}

$summary.error = $failure
$summary.warnings = $warnings.ToArray()
if ($state) {
    $summary.phase = $state.phase
    if ($state.cluster) {
        $nodeState = $null
        try { $nodeState = "$((Get-ClusterNode -Name $env:COMPUTERNAME).State)" } catch { $nodeState = 'unknown' }
        $summary.cluster = [ordered]@{
            name = $state.cluster.name; node_state = $nodeState; drain = $state.cluster.drain; error = $state.cluster.error
        }
    }
    $summary.vms = @(foreach ($entry in $state.vms) {
        [ordered]@{
            name = $entry.name; id = $entry.id; asked = $entry.asked; action = $entry.action; reason = $entry.reason
            status = $entry.status; done = $entry.done; error = $entry.error
        }
    })
}
Write-NestlabJson $summary
if ($failure) { exit 1 }
exit 0
