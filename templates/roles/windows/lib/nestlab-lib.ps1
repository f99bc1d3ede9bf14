# Helpers shared by nestlab's Windows role scripts. The recipes that need them
# copy this file to C:\ProgramData\nestlab\nestlab-lib.ps1 in their first step
# (each step's script is copied in alone); scripts dot-source it after the
# facts file. It only defines functions: dot-sourcing it changes nothing.

$NestlabDir = 'C:\ProgramData\nestlab'
$NestlabSecretDir = 'C:\ProgramData\nestlab\secrets'

# A secret given to the running step (secrets="NAME" on the step), read from
# the file nestlab wrote for it. Secrets never travel on a command line.
function Read-NestlabSecret {
    param([Parameter(Mandatory = $true)][string]$Name)
    $path = Join-Path $NestlabSecretDir $Name
    if (-not (Test-Path -LiteralPath $path)) {
        throw "secret '$Name' was not given to this step ($path does not exist)"
    }
    return (Get-Content -Raw -LiteralPath $path).TrimEnd("`r", "`n")
}

# The domain's Administrator, from the domain-admin secret: the first
# controller's Administrator password became the domain's.
function Get-NestlabDomainCredential {
    $secure = ConvertTo-SecureString -String (Read-NestlabSecret 'domain-admin') -AsPlainText -Force
    return New-Object System.Management.Automation.PSCredential ("$($NL.NetBIOS)\Administrator", $secure)
}

# The root (D:\) of the first CD-ROM drive that holds every file in $Files
# (paths relative to the root), or else whose volume label is like $Label and
# holds the first of them; $null if none does. Install media come on ISOs
# the template attaches, and their drive letters are whatever Windows gave.
function Find-NestlabMedia {
    param([Parameter(Mandatory = $true)][string[]]$Files, [string]$Label)
    foreach ($drive in @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType=5')) {
        if (-not $drive.DeviceID -or -not $drive.VolumeName) { continue }   # empty drive
        $root = $drive.DeviceID + '\'
        $missing = @($Files | Where-Object { -not (Test-Path -LiteralPath (Join-Path $root $_)) })
        if ($missing.Count -eq 0) { return $root }
        if ($Label -and $drive.VolumeName -like $Label -and
            (Test-Path -LiteralPath (Join-Path $root $Files[0]))) { return $root }
    }
    return $null
}

# The full path of the first file named $Name (wildcards allowed) on any
# CD-ROM drive, at most $Depth folders down; $null if there is none.
function Find-NestlabMediaFile {
    param([Parameter(Mandatory = $true)][string]$Name, [int]$Depth = 2)
    foreach ($drive in @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType=5')) {
        if (-not $drive.DeviceID -or -not $drive.VolumeName) { continue }
        $found = Get-ChildItem -LiteralPath ($drive.DeviceID + '\') -Filter $Name -File -Recurse `
            -Depth $Depth -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($found) { return $found.FullName }
    }
    return $null
}

# Runs an installer (an .exe, or an .msi through msiexec) and waits for it and
# everything it started. Exit codes 0 and 3010 (done, restart needed) pass;
# anything else throws, naming the installer and its log if there is one.
function Invoke-NestlabInstaller {
    param([Parameter(Mandatory = $true)][string]$Path, [string[]]$Arguments = @(), [string]$Log)
    if ($Path -like '*.msi') {
        $Arguments = @('/i', "`"$Path`"", '/qn', '/norestart') + $Arguments
        if ($Log) { $Arguments += @('/l*v', "`"$Log`"") }
        $Path = Join-Path $env:SystemRoot 'System32\msiexec.exe'
    }
    Write-Host "running $Path $($Arguments -join ' ')"
    $process = Start-Process -FilePath $Path -ArgumentList $Arguments -Wait -PassThru -NoNewWindow
    $code = $process.ExitCode
    if ($code -eq 3010) {
        Write-Host "${Path}: done, a restart is pending"
    } elseif ($code -ne 0) {
        $where = ''
        if ($Log) { $where = " (log: $Log)" }
        throw "$Path exited with $code$where"
    }
}

# Whether Windows waits for a restart to finish an installation.
function Test-NestlabRestartPending {
    $keys = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending',
            'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    foreach ($key in $keys) { if (Test-Path -LiteralPath $key) { return $true } }
    $renames = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' `
        -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
    return [bool]$renames
}

# The nodes of the cluster this machine belongs to, from the facts; fails
# when the facts hold no cluster.
function Get-NestlabClusterNodes {
    if (-not ($NL.ContainsKey('Cluster') -and $NL.Cluster)) {
        throw "$($NL.Machine) runs the failover-cluster recipe but its facts hold no `$NL.Cluster"
    }
    return @($NL.Cluster.Nodes)
}

# Runs $ScriptPath (with $Arguments, which must hold no secret) as the domain
# Administrator, through a scheduled task that exists only while it runs, and
# returns the script's exit code after writing its output. Steps run as
# SYSTEM, which on the network is the computer's account: setups that create
# objects in the domain or reach another machine's SQL Server need a user.
# The password goes to the Task Scheduler API from the secret file; the
# task's command line holds only the script's path.
function Invoke-NestlabAsDomainAdmin {
    param([Parameter(Mandatory = $true)][string]$ScriptPath, [string]$Arguments = '',
          [int]$TimeoutMinutes = 120)
    $name = 'nestlab-' + [IO.Path]::GetFileNameWithoutExtension($ScriptPath)
    $log = Join-Path $NestlabDir "$name.log"
    Remove-Item -LiteralPath $log -ErrorAction SilentlyContinue
    # A script that throws instead of exiting still fails the task.
    $command = "try { & '$ScriptPath' $Arguments *> '$log'; exit `$LASTEXITCODE } " +
               "catch { `$_ | Out-String | Out-File -Append -FilePath '$log'; exit 1 }"
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' `
        -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -Command `"$command`""
    $user = "$($NL.NetBIOS)\Administrator"
    $password = Read-NestlabSecret 'domain-admin'
    Register-ScheduledTask -TaskName $name -Action $action -User $user -Password $password `
        -RunLevel Highest -Force | Out-Null
    Remove-Variable -Name password
    try {
        Write-Host "running $ScriptPath as $user"
        Start-ScheduledTask -TaskName $name
        $deadline = (Get-Date).AddMinutes($TimeoutMinutes)
        Start-Sleep -Seconds 2
        while ((Get-ScheduledTask -TaskName $name).State -in 'Running', 'Queued') {
            if ((Get-Date) -gt $deadline) {
                Stop-ScheduledTask -TaskName $name
                throw "$ScriptPath did not finish within $TimeoutMinutes minutes"
            }
            Start-Sleep -Seconds 5
        }
        # Write-Host: what this function writes to the pipeline is its result.
        if (Test-Path -LiteralPath $log) { Get-Content -LiteralPath $log | ForEach-Object { Write-Host $_ } }
        $result = (Get-ScheduledTaskInfo -TaskName $name).LastTaskResult
        # 0x41303: the task has not run yet (the logon was refused, say).
        if ($result -eq 267011) { throw "the task for $ScriptPath never ran as $user" }
        return $result
    } finally {
        Unregister-ScheduledTask -TaskName $name -Confirm:$false
    }
}
