# Hyper-V host recipe, step "hyperv-firewall": SCVMM installs its agent on a host
# over SMB and WMI; open those in the host's firewall. The rule groups are
# named by their language-neutral resource ids (File and Printer Sharing,
# Windows Management Instrumentation).
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

foreach ($group in '@FirewallAPI.dll,-28502', '@FirewallAPI.dll,-34251') {
    $rules = @(Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue)
    if ($rules.Count -eq 0) {
        throw "no firewall rules in group $group on $($NL.Machine)"
    }
    $rules | Enable-NetFirewallRule
    Write-Output "enabled $($rules.Count) firewall rules of $($rules[0].DisplayGroup)"
}
