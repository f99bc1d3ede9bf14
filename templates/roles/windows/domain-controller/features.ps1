# Domain controller recipe, step "dc-features": the AD DS and DNS server roles
# with their management tools (the AD module that "ad-ready" probes with).
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

$wanted = 'AD-Domain-Services', 'DNS', 'RSAT-AD-PowerShell', 'RSAT-DNS-Server'
$missing = @(Get-WindowsFeature -Name $wanted | Where-Object { -not $_.Installed } | ForEach-Object { $_.Name })
if ($missing.Count -eq 0) {
    Write-Output "$($wanted -join ', '): installed"
    exit 0
}
Write-Output "installing $($missing -join ', ')"
$result = Install-WindowsFeature -Name $missing -IncludeManagementTools
if (-not $result.Success) {
    throw "Install-WindowsFeature $($missing -join ', ') failed (exit code $($result.ExitCode))"
}
Write-Output "installed $($missing -join ', '); restart needed: $($result.RestartNeeded)"
