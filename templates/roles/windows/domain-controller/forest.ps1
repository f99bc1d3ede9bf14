# Domain controller recipe, step "forest": Install-ADDSForest for the lab's
# domain, with DNS, the directory services restore mode password from the
# dsrm secret, and no restart (the recipe's next step restarts and waits).
# The machine's Administrator password, set from the domain-admin secret by
# its config disk, becomes the domain Administrator's.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

if (-not $NL.Domain) {
    throw "$($NL.Machine) has role domain-controller but the lab has no <domain>"
}
# Win32_ComputerSystem.DomainRole 4 and 5: backup and primary controller.
if ((Get-CimInstance -ClassName Win32_ComputerSystem).DomainRole -ge 4) {
    Write-Output "$($NL.Machine) is a domain controller already"
    exit 0
}
if ($NL.Machine -ne $NL.DomainController) {
    throw ("$($NL.Machine) would be an additional controller of $($NL.Domain) " +
           "(the first is $($NL.DomainController)); this recipe only creates the forest")
}

$secret = (Get-Content -Raw -LiteralPath 'C:\ProgramData\nestlab\secrets\dsrm').TrimEnd("`r", "`n")
$dsrm = ConvertTo-SecureString -String $secret -AsPlainText -Force
Remove-Variable -Name secret

Import-Module ADDSDeployment
Write-Output "creating the forest $($NL.Domain) (NetBIOS $($NL.NetBIOS)) on $($NL.Machine)"
$result = Install-ADDSForest -DomainName $NL.Domain -DomainNetbiosName $NL.NetBIOS `
    -SafeModeAdministratorPassword $dsrm -InstallDns -NoRebootOnCompletion -Force
Write-Output ($result | Format-List -Property Status, Message, RebootRequired | Out-String)
if ("$($result.Status)" -ne 'Success') {
    throw "Install-ADDSForest: $($result.Status): $($result.Message)"
}
Write-Output "forest $($NL.Domain) created; it starts serving after the next step's restart"
