# Failover cluster recipe, step "cluster-features": the Failover-Clustering feature
# and its tools, on every node. The recipe restarts the node next.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

$wanted = 'Failover-Clustering', 'RSAT-Clustering-PowerShell'
$missing = @(Get-WindowsFeature -Name $wanted | Where-Object { -not $_.Installed } | ForEach-Object { $_.Name })
if ($missing.Count -eq 0) {
    Write-Output "$($wanted -join ', '): installed on $($NL.Machine)"
    exit 0
}
Write-Output "installing $($missing -join ', ') on $($NL.Machine)"
$result = Install-WindowsFeature -Name $missing -IncludeManagementTools
if (-not $result.Success) {
    throw "Install-WindowsFeature $($missing -join ', ') failed (exit code $($result.ExitCode))"
}
Write-Output "installed $($missing -join ', ') on $($NL.Machine); restart needed: $($result.RestartNeeded)"
