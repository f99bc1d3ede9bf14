# Hyper-V host recipe, step "hyperv-features": the Hyper-V role with its management
# tools (Hyper-V Manager, the Hyper-V PowerShell module). It takes effect
# after the restart that is the recipe's next step.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

$feature = Get-WindowsFeature -Name Hyper-V
if ($feature.Installed) {
    Write-Output "Hyper-V is installed on $($NL.Machine)"
    exit 0
}
Write-Output "installing Hyper-V on $($NL.Machine)"
# Fails here, saying so, when the CPU shows no virtualization extensions.
$result = Install-WindowsFeature -Name Hyper-V -IncludeManagementTools
if (-not $result.Success) {
    throw "Install-WindowsFeature Hyper-V failed (exit code $($result.ExitCode))"
}
Write-Output "Hyper-V installed; restart needed: $($result.RestartNeeded)"
