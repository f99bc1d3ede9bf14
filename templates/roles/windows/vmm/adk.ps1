# VMM recipe, step "adk": the Windows Assessment and Deployment Kit's
# deployment tools and its WinPE add-on, which SCVMM needs for bare-metal
# deployment. Both installers run from offline layouts (adksetup.exe /layout,
# adkwinpesetup.exe /layout) on an attached CD-ROM.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1

$kit = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\Assessment and Deployment Kit'
$parts = @(
    @{ Name = 'deployment tools'; Folder = 'Deployment Tools'; Setup = 'adksetup.exe';
       Feature = 'OptionId.DeploymentTools' },
    @{ Name = 'WinPE add-on'; Folder = 'Windows Preinstallation Environment'; Setup = 'adkwinpesetup.exe';
       Feature = 'OptionId.WindowsPreinstallationEnvironment' }
)
$logs = Join-Path $NestlabDir 'vmm'
New-Item -ItemType Directory -Force -Path $logs | Out-Null

foreach ($part in $parts) {
    if (Test-Path -LiteralPath (Join-Path $kit $part.Folder)) {
        Write-Output "Windows ADK $($part.Name): installed"
        continue
    }
    $setup = Find-NestlabMediaFile -Name $part.Setup
    if (-not $setup) {
        throw "no $($part.Setup) on the attached media: attach the ADK's offline layout (Windows ADK $($part.Name))"
    }
    $log = Join-Path $logs ([IO.Path]::GetFileNameWithoutExtension($part.Setup) + '.log')
    $arguments = @('/quiet', '/norestart', '/ceip', 'off', '/features', $part.Feature, '/log', "`"$log`"")
    Invoke-NestlabInstaller -Path $setup -Arguments $arguments -Log $log
    if (-not (Test-Path -LiteralPath (Join-Path $kit $part.Folder))) {
        throw "$($part.Setup) finished but $(Join-Path $kit $part.Folder) does not exist (log: $log)"
    }
    Write-Output "Windows ADK $($part.Name): installed"
}
