# VMM recipe, step "vmm-setup": SCVMM's management server, with its database on
# the lab's SQL Server (the machine with role sql, else this one) and its
# service as Local System. The step runs as SYSTEM, which reaches another
# machine's SQL Server only as the computer's account; so this script runs
# itself a second time, with -AsDomainAdmin, as the domain Administrator (a
# sysadmin there) for setup proper. No credential goes on setup's command line.
param([switch]$AsDomainAdmin)
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1

$work = Join-Path $NestlabDir 'vmm'
$ini = Join-Path $work 'VMServer.ini'
$extracted = Join-Path $work 'media'

# The setup program: on a CD-ROM as SCVMM's ISO holds it (setup.exe beside an
# amd64 folder, or a volume labelled like SC*VMM*), or unpacked here from the
# self-extracting download (SCVMM_*.exe) on a CD-ROM.
function Find-VmmSetup {
    $root = Find-NestlabMedia -Files 'setup.exe', 'amd64' -Label 'SC*VMM*'
    if ($root) { return (Join-Path $root 'setup.exe') }
    $unpacked = Join-Path $extracted 'setup.exe'
    if (Test-Path -LiteralPath $unpacked) { return $unpacked }
    return $null
}

if ($AsDomainAdmin) {
    $setup = Find-VmmSetup
    if (-not $setup) { throw "SCVMM's setup.exe is gone from the media and from $extracted" }
    Write-Output "running $setup /server /i /f $ini as $env:USERDOMAIN\$env:USERNAME"
    $process = Start-Process -FilePath $setup -ArgumentList '/server', '/i', '/f', "`"$ini`"", '/IACCEPTSCEULA' `
        -WorkingDirectory (Split-Path -Parent $setup) -Wait -PassThru -NoNewWindow
    # setup.exe hands over to SetupVM.exe and may return first.
    Get-Process -Name SetupVM -ErrorAction SilentlyContinue | Wait-Process
    exit $process.ExitCode
}

if (Get-Service -Name SCVMMService -ErrorAction SilentlyContinue) {
    Write-Output "SCVMM management server is installed on $($NL.Machine)"
    exit 0
}
# The recipe restarted the machine just before; Windows may want another
# restart for trivia, so this is worth a line, not a failure.
if (Test-NestlabRestartPending) {
    Write-Output "warning: $($NL.Machine) has a restart pending; SCVMM's setup may refuse to run"
}
New-Item -ItemType Directory -Force -Path $work | Out-Null
if (-not (Find-VmmSetup)) {
    $package = Find-NestlabMediaFile -Name 'SCVMM_*.exe' -Depth 1
    if (-not $package) {
        throw "no SCVMM setup on the attached media (setup.exe beside amd64\, or SCVMM_*.exe to unpack)"
    }
    Write-Output "unpacking $package to $extracted"
    Invoke-NestlabInstaller -Path $package -Arguments '/VERYSILENT', '/SUPPRESSMSGBOXES', "/DIR=`"$extracted`""
    if (-not (Find-VmmSetup)) { throw "$package did not unpack a setup.exe into $extracted" }
}

$sql = @($NL.Machines | Where-Object { $_.Role -eq 'sql' }) | Select-Object -First 1
if ($sql) {
    $sqlMachine = "$($sql.Name).$($NL.Domain)"
} else {
    $sqlMachine = $env:COMPUTERNAME
}
@"
[OPTIONS]
UserName=Administrator
CompanyName=$($NL.Lab)
ProgramFiles=C:\Program Files\Microsoft System Center\Virtual Machine Manager
CreateNewSqlDatabase=1
SqlMachineName=$sqlMachine
SqlInstanceName=MSSQLSERVER
SqlDatabaseName=VirtualManagerDB
RemoteDatabaseImpersonation=0
IndigoTcpPort=8100
IndigoHTTPSPort=8101
IndigoNETTCPPort=8102
IndigoHTTPPort=8103
WSManTcpPort=5985
BitsTcpPort=443
CreateNewLibraryShare=1
LibraryShareName=MSSCVMMLibrary
LibrarySharePath=C:\ProgramData\Virtual Machine Manager Library Files
LibraryShareDescription=Virtual Machine Manager Library Files
VmmServiceLocalAccount=1
SQMOptIn=0
MUOptIn=0
"@ | Set-Content -LiteralPath $ini -Encoding Ascii
Write-Output "SCVMM setup on $($NL.Machine), database on $sqlMachine (MSSQLSERVER)"

$code = Invoke-NestlabAsDomainAdmin -ScriptPath $PSCommandPath -Arguments '-AsDomainAdmin' -TimeoutMinutes 85
if (-not (Get-Service -Name SCVMMService -ErrorAction SilentlyContinue)) {
    $log = Join-Path $env:ProgramData 'VMMLogs\SetupWizard.log'
    if (Test-Path -LiteralPath $log) { Get-Content -LiteralPath $log -Tail 40 | Write-Output }
    throw "SCVMM setup exited with $code and the SCVMMService service does not exist (log: $log)"
}
Write-Output "SCVMM management server installed on $($NL.Machine) (setup exited with $code)"
