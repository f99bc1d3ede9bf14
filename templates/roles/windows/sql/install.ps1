# SQL Server recipe, step "sql-install", and the vmm recipe's "local-sql": the
# database engine (default instance) from the attached SQL Server media, set
# up by a configuration file written here. On a vmm machine it installs only
# when the lab has no machine with role sql (SCVMM then uses a local one).
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1

if ($NL.Role -ne 'sql') {
    $server = @($NL.Machines | Where-Object { $_.Role -eq 'sql' }) | Select-Object -First 1
    if ($server) {
        Write-Output "SQL Server runs on $($server.Name): nothing to install on $($NL.Machine)"
        exit 0
    }
}
if (Get-Service -Name MSSQLSERVER -ErrorAction SilentlyContinue) {
    Write-Output "SQL Server (MSSQLSERVER) is installed on $($NL.Machine)"
    exit 0
}

$media = Find-NestlabMedia -Files 'setup.exe', 'x64\DefaultSetup.ini' -Label 'SQL*'
if (-not $media) {
    throw ("no SQL Server media on $($NL.Machine): attach the SQL Server ISO " +
           "(looked on every CD-ROM drive for setup.exe with x64\DefaultSetup.ini, or a volume labelled SQL*)")
}
if ($NL.Domain) { $sysadmins = "$($NL.NetBIOS)\Domain Admins" } else { $sysadmins = 'BUILTIN\Administrators' }

$dir = Join-Path $NestlabDir 'sql'
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$ini = Join-Path $dir 'ConfigurationFile.ini'
# Keys valid from SQL Server 2016 to 2022: setup refuses any it does not know.
@"
; SQL Server setup, written by nestlab's sql recipe for $($NL.Machine).
[OPTIONS]
ACTION="Install"
QUIET="True"
FEATURES=SQLENGINE
INSTANCENAME="MSSQLSERVER"
INSTANCEID="MSSQLSERVER"
SQLSVCACCOUNT="NT Service\MSSQLSERVER"
SQLSVCSTARTUPTYPE="Automatic"
AGTSVCACCOUNT="NT Service\SQLSERVERAGENT"
AGTSVCSTARTUPTYPE="Automatic"
SQLSYSADMINACCOUNTS="$sysadmins"
TCPENABLED="1"
NPENABLED="0"
BROWSERSVCSTARTUPTYPE="Disabled"
UPDATEENABLED="False"
"@ | Set-Content -LiteralPath $ini -Encoding Ascii
Write-Output "SQL Server setup from $media with $ini (sysadmins: $sysadmins)"

try {
    Invoke-NestlabInstaller -Path (Join-Path $media 'setup.exe') `
        -Arguments "/ConfigurationFile=`"$ini`"", '/IACCEPTSQLSERVERLICENSETERMS'
} catch {
    # Setup's own account of what failed.
    $summary = Get-ChildItem -Path 'C:\Program Files\Microsoft SQL Server\*\Setup Bootstrap\Log\Summary.txt' `
        -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($summary) { Get-Content -LiteralPath $summary.FullName -Tail 40 | Write-Output }
    throw
}
if (-not (Get-Service -Name MSSQLSERVER -ErrorAction SilentlyContinue)) {
    throw "SQL Server setup finished but the MSSQLSERVER service does not exist"
}
Write-Output "SQL Server (MSSQLSERVER) installed on $($NL.Machine)"
