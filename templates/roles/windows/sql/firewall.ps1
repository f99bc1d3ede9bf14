# SQL Server recipe, step "sql-firewall": let the lab reach the default instance
# on TCP 1433 (SCVMM's database may live here).
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

$rule = 'nestlab-sql-tcp-1433'
if (Get-NetFirewallRule -Name $rule -ErrorAction SilentlyContinue) {
    Write-Output "firewall rule $rule exists"
    exit 0
}
New-NetFirewallRule -Name $rule -DisplayName 'SQL Server (TCP 1433)' -Direction Inbound `
    -Protocol TCP -LocalPort 1433 -Action Allow -Profile Any | Out-Null
Write-Output "firewall rule ${rule}: TCP 1433 inbound allowed"
