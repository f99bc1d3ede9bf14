# Helpers shared by the scripts that patch a Windows Hyper-V host of a nestlab
# lab (inventory.ps1, drain.ps1, update.ps1, resume.ps1). They run on the host
# through the QEMU guest agent, as SYSTEM, and dot-source this file from their
# own folder:  . (Join-Path $PSScriptRoot 'nestlab-host-lib.ps1')
# It only defines functions: dot-sourcing it changes nothing.
#
# It does not dot-source templates/roles/windows/lib/nestlab-lib.ps1. That
# library serves provisioning steps (facts, secret files, install media,
# running a script as the domain Administrator) and is in a guest only when a
# recipe copied it to C:\ProgramData\nestlab; these scripts read no facts,
# handle no secrets and travel as one folder, and they need none of its
# functions (whether a restart is pending comes from Windows Update's own
# Microsoft.Update.SystemInfo, not from the registry keys it reads). Its
# conventions hold here: Verb-Nestlab* names, exit code 3010 for "done,
# restart required", C:\ProgramData\nestlab for nestlab's files.
#
# One difference: a role script writes its progress to stdout; these scripts
# print exactly one JSON document there, so their progress goes to stderr.

# UTC, ISO 8601, to the second: what the state file and the output record.
function Get-NestlabTimestamp {
    return [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
}

# A progress line on stderr, stamped. Stdout is the JSON document's alone.
function Write-NestlabHostLog {
    param([Parameter(Mandatory = $true)][string]$Message)
    [Console]::Error.WriteLine("$(Get-NestlabTimestamp) ${env:COMPUTERNAME}: $Message")
}

# Prints $Object as the script's one JSON document on stdout. Characters
# beyond ASCII are escaped (\uXXXX), so the document reads the same whatever
# code page the console of the guest agent's process has.
function Write-NestlabJson {
    param([Parameter(Mandatory = $true)]$Object)
    $json = ConvertTo-Json -InputObject $Object -Depth 5 -Compress
    $json = [regex]::Replace($json, '[^\x00-\x7F]',
        [Text.RegularExpressions.MatchEvaluator] { param($m) '\u{0:x4}' -f [int][char]$m.Value })
    [Console]::Out.WriteLine($json)
    [Console]::Out.Flush()
}

# ConvertFrom-Json (Windows PowerShell 5.1 has no -AsHashtable) gives
# PSCustomObjects, whose missing properties throw under Set-StrictMode;
# ordered hashtables answer $null for a missing key and keep their order.
function ConvertTo-NestlabHashtable {
    param($InputObject)
    if ($null -eq $InputObject) { return $null }
    if ($InputObject -is [System.Management.Automation.PSCustomObject]) {
        $table = [ordered]@{}
        foreach ($property in $InputObject.PSObject.Properties) {
            $table[$property.Name] = ConvertTo-NestlabHashtable $property.Value
        }
        return $table
    }
    if ($InputObject -is [System.Collections.IEnumerable] -and $InputObject -isnot [string]) {
        # The comma keeps an array of one (or none) an array on return.
        return , @(foreach ($item in $InputObject) { ConvertTo-NestlabHashtable $item })
    }
    return $InputObject
}

# A path as the file system sees it: .NET resolves relative paths against the
# process's directory (System32 under the guest agent), not PowerShell's.
function Resolve-NestlabPath {
    param([Parameter(Mandatory = $true)][string]$Path)
    return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
}

# The state file as an ordered hashtable, or $null when there is none. A
# PATH.tmp left by a crash is ignored: the state is written before each
# action, and an action starts only once the write has replaced PATH.
function Read-NestlabHostState {
    param([Parameter(Mandatory = $true)][string]$Path)
    $Path = Resolve-NestlabPath $Path
    if (-not (Test-Path -LiteralPath $Path)) { return $null }
    $text = Get-Content -Raw -LiteralPath $Path
    try {
        $state = ConvertTo-NestlabHashtable (ConvertFrom-Json -InputObject $text)
    } catch {
        throw "state file $Path is not valid JSON: $($_.Exception.Message)"
    }
    if ($null -eq $state -or -not $state.Contains('version') -or $state.version -ne 1) {
        throw "state file $Path is not a nestlab host state file (version 1)"
    }
    return $state
}

# Writes the state atomically: the whole document to PATH.tmp, flushed to the
# disk (write-through), then put in PATH's place with one rename
# (File.Replace), so a crash or a power cut leaves the old state or the new
# one, never half of one. Stamps $State.updated.
function Write-NestlabHostState {
    param([Parameter(Mandatory = $true)][string]$Path, [Parameter(Mandatory = $true)]$State)
    $Path = Resolve-NestlabPath $Path
    $State['updated'] = Get-NestlabTimestamp
    $folder = Split-Path -Parent $Path
    if ($folder -and -not (Test-Path -LiteralPath $folder)) {
        New-Item -ItemType Directory -Force -Path $folder | Out-Null
    }
    $bytes = (New-Object System.Text.UTF8Encoding $false).GetBytes((ConvertTo-Json -InputObject $State -Depth 5) + "`n")
    $tmp = "$Path.tmp"
    $stream = [System.IO.FileStream]::new($tmp, [System.IO.FileMode]::Create, [System.IO.FileAccess]::Write,
        [System.IO.FileShare]::None, 4096, [System.IO.FileOptions]::WriteThrough)
    try {
        $stream.Write($bytes, 0, $bytes.Length)
        $stream.Flush($true)
    } finally {
        $stream.Dispose()
    }
    if (Test-Path -LiteralPath $Path) {
        # [NullString]: PowerShell would pass $null to a string parameter as ''.
        [System.IO.File]::Replace($tmp, $Path, [NullString]::Value)
    } else {
        [System.IO.File]::Move($tmp, $Path)
    }
}

# Whether the VM is a nested hypervisor: its processor exposes the
# virtualization extensions. Microsoft documents saving, restoring and live
# migrating such a VM as unsupported (they fail, or the VM does not start
# again when it hosts VMs of its own), so the drain shuts it down instead.
function Test-NestlabNestedVM {
    param([Parameter(Mandatory = $true)]$VM)
    return [bool](Get-VMProcessor -VM $VM).ExposeVirtualizationExtensions
}

# The VM with this id on this host, or on $ComputerName; $null if it is not
# there. Lists the host's VMs rather than asking Get-VM -Id, which fails the
# same way for a VM that is not there and for a host that does not answer:
# here an unreachable host throws and a missing VM is $null.
function Find-NestlabVM {
    param([Parameter(Mandatory = $true)][string]$Id, [string]$ComputerName)
    if ($ComputerName) {
        $all = @(Get-VM -ComputerName $ComputerName)
    } else {
        $all = @(Get-VM)
    }
    return @($all | Where-Object { "$($_.Id)" -eq $Id }) | Select-Object -First 1
}

# The VM again, once it has reached a state it rests in: Running, Off, Saved
# or Paused; the others (Starting, Saving, Stopping, ...) are on their way to
# one of these. Waits at most $Seconds; $null if the VM left the host;
# throws naming the VM if it does not settle, or if Hyper-V reports it
# critical (its storage is gone).
function Wait-NestlabVMSettled {
    param([Parameter(Mandatory = $true)]$VM, [int]$Seconds = 120)
    $deadline = (Get-Date).AddSeconds($Seconds)
    while ($true) {
        $now = Find-NestlabVM -Id "$($VM.Id)"
        if ($null -eq $now) { return $null }
        $state = "$($now.State)"
        if ($state -like '*Critical') {
            throw "VM '$($now.Name)' is ${state}: Hyper-V lost access to its storage"
        }
        if ($state -in @('Running', 'Off', 'Saved', 'Paused')) { return $now }
        if ((Get-Date) -gt $deadline) {
            throw "VM '$($now.Name)' stayed $state for ${Seconds}s"
        }
        Start-Sleep -Seconds 2
    }
}

# What the failover cluster says about this host: whether it is a node (the
# FailoverClusters module is there and Get-ClusterNode knows this computer),
# the cluster's name, the node's state and drain status, and the clustered VM
# roles by VM id (lower case): their group and owner node.
function Get-NestlabClusterInfo {
    $info = [ordered]@{ node = $false; name = $null; node_state = $null; drain_status = $null; groups = @{} }
    if (-not (Get-Module -ListAvailable -Name FailoverClusters)) { return $info }
    Import-Module -Name FailoverClusters
    try {
        $node = Get-ClusterNode -Name $env:COMPUTERNAME -ErrorAction Stop
    } catch {
        # Not a node, or its cluster service is not running: either way the
        # cluster does not manage this host's VMs now.
        return $info
    }
    $info.node = $true
    $info.name = "$((Get-Cluster).Name)"
    $info.node_state = "$($node.State)"
    $info.drain_status = "$($node.DrainStatus)"
    foreach ($group in @(Get-ClusterGroup | Where-Object { "$($_.GroupType)" -eq 'VirtualMachine' })) {
        $resource = @($group | Get-ClusterResource | Where-Object { "$($_.ResourceType)" -eq 'Virtual Machine' }) |
            Select-Object -First 1
        if ($null -eq $resource) { continue }
        $id = "$(($resource | Get-ClusterParameter -Name VmId).Value)".ToLowerInvariant()
        $info.groups[$id] = [ordered]@{ group = "$($group.Name)"; owner_node = "$($group.OwnerNode)" }
    }
    return $info
}
