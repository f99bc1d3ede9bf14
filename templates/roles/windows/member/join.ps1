# Member recipe, step "join": the machine should have joined the lab's domain
# in its specialize pass. Verify that it did; if not, join it now with the
# domain Administrator's credential. The recipe's next step reboots, which a
# join needs before it takes effect.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

if (-not $NL.Domain) {
    Write-Output "$($NL.Machine): the lab has no domain, nothing to join"
    exit 0
}
$cs = Get-CimInstance -ClassName Win32_ComputerSystem
if ($cs.PartOfDomain -and $cs.Domain -eq $NL.Domain) {
    Write-Output "$($NL.Machine) is a member of $($NL.Domain)"
    exit 0
}
if ($cs.PartOfDomain) {
    throw "$($NL.Machine) is a member of $($cs.Domain), not of $($NL.Domain)"
}

Write-Output "$($NL.Machine) is not in $($NL.Domain): joining it now"
# The domain's name resolves only once the controller's DNS answers.
$deadline = (Get-Date).AddMinutes(5)
while ($true) {
    try {
        Resolve-DnsName -Name $NL.Domain -Type A -ErrorAction Stop | Out-Null
        break
    } catch {
        if ((Get-Date) -gt $deadline) {
            throw "$($NL.Domain) does not resolve (DNS server $($NL.DomainControllerAddress)): $_"
        }
        Start-Sleep -Seconds 10
    }
}
$secret = (Get-Content -Raw -LiteralPath 'C:\ProgramData\nestlab\secrets\domain-admin').TrimEnd("`r", "`n")
$password = ConvertTo-SecureString -String $secret -AsPlainText -Force
Remove-Variable -Name secret
$credential = New-Object System.Management.Automation.PSCredential ("$($NL.NetBIOS)\Administrator", $password)
Add-Computer -DomainName $NL.Domain -Credential $credential -Force
Write-Output "$($NL.Machine) joined $($NL.Domain); it restarts in the next step"
