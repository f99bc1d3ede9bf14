# Hyper-V host recipe, step "vswitch": an external virtual switch shared with
# the host itself, on the NIC that carries the machine's address (the first
# NIC of its template), so the host's own address moves onto the switch.
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1

if ($NL.ContainsKey('VirtualSwitch') -and $NL.VirtualSwitch) {
    $name = $NL.VirtualSwitch
} else {
    $name = $NL.Lab
}
if (Get-VMSwitch -Name $name -ErrorAction SilentlyContinue) {
    Write-Output "virtual switch '$name' exists"
    exit 0
}

$adapter = $null
$me = @($NL.Machines | Where-Object { $_.Name -eq $NL.Machine }) | Select-Object -First 1
if ($me -and $me.Address) {
    $ip = Get-NetIPAddress -IPAddress $me.Address -AddressFamily IPv4 -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if ($ip) { $adapter = Get-NetAdapter -InterfaceIndex $ip.InterfaceIndex }
}
if (-not $adapter) {
    # No static address to go by: the first physical adapter that is up.
    $adapter = Get-NetAdapter -Physical | Where-Object { $_.Status -eq 'Up' } |
        Sort-Object -Property ifIndex | Select-Object -First 1
}
if (-not $adapter) {
    throw "$($NL.Machine) has no network adapter that is up to put the switch '$name' on"
}
Write-Output "creating external virtual switch '$name' on $($adapter.Name) ($($adapter.MacAddress))"
New-VMSwitch -Name $name -NetAdapterName $adapter.Name -AllowManagementOS $true | Out-Null
Write-Output "virtual switch '$name' created"
