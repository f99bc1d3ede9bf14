# VMM recipe, step "vmm-prerequisites": what SCVMM's setup checks for before it
# starts. The failover clustering tools are a Windows feature; the Visual C++
# runtime, the ODBC driver and the sqlcmd utilities come from any attached
# CD-ROM that holds their installers (VC_redist.x64.exe, msodbcsql*.msi,
# MsSqlCmdLnUtils*.msi). Each is skipped when already present.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1

$feature = Get-WindowsFeature -Name RSAT-Clustering
if (-not $feature.Installed) {
    Write-Output "installing the failover clustering tools"
    $result = Install-WindowsFeature -Name RSAT-Clustering -IncludeAllSubFeature
    if (-not $result.Success) { throw "Install-WindowsFeature RSAT-Clustering failed (exit code $($result.ExitCode))" }
} else {
    Write-Output "failover clustering tools: installed"
}

$logs = Join-Path $NestlabDir 'vmm'
New-Item -ItemType Directory -Force -Path $logs | Out-Null

# The 2015-2022 Visual C++ runtime: optional on media, since Windows Server
# often has it; setup names it if it is missing.
$vcredist = Find-NestlabMediaFile -Name 'VC_redist.x64.exe'
if ($vcredist) {
    Invoke-NestlabInstaller -Path $vcredist -Arguments '/install', '/quiet', '/norestart'
} else {
    Write-Output "no VC_redist.x64.exe on the media: keeping the Visual C++ runtime Windows has"
}

if (Get-OdbcDriver -Name 'ODBC Driver * for SQL Server' -Platform '64-bit' -ErrorAction SilentlyContinue) {
    Write-Output "ODBC driver for SQL Server: installed"
} else {
    $odbc = Find-NestlabMediaFile -Name 'msodbcsql*.msi'
    if (-not $odbc) { throw "no ODBC driver for SQL Server installer (msodbcsql*.msi) on the attached media" }
    Invoke-NestlabInstaller -Path $odbc -Arguments 'IACCEPTMSODBCSQLLICENSETERMS=YES', 'ADDLOCAL=ALL' `
        -Log (Join-Path $logs 'odbc.log')
}

$sqlcmd = Get-ChildItem -Path 'C:\Program Files\Microsoft SQL Server\Client SDK\ODBC\*\Tools\Binn\SQLCMD.EXE' `
    -ErrorAction SilentlyContinue | Select-Object -First 1
if ($sqlcmd) {
    Write-Output "sqlcmd: installed ($($sqlcmd.FullName))"
} else {
    $utils = Find-NestlabMediaFile -Name 'MsSqlCmdLnUtils*.msi'
    if (-not $utils) { throw "no SQL Server command line utilities installer (MsSqlCmdLnUtils*.msi) on the attached media" }
    Invoke-NestlabInstaller -Path $utils -Arguments 'IACCEPTMSSQLCMDLNUTILSLICENSETERMS=YES' `
        -Log (Join-Path $logs 'sqlcmd.log')
}
Write-Output "SCVMM prerequisites in place on $($NL.Machine)"
