# VMM recipe, step "vmm-hosts": every machine of the lab with role hyperv-host
# becomes a host managed by this SCVMM server, through a Run As account made
# from the domain-admin secret. Hosts already managed are left alone. Like
# "vmm-setup", the work runs as the domain Administrator (-AsDomainAdmin): SCVMM
# serves its cmdlets to its administrators, not to SYSTEM.
param([switch]$AsDomainAdmin)
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1

$hosts = @($NL.Machines | Where-Object { $_.Role -eq 'hyperv-host' })
if ($hosts.Count -eq 0) {
    Write-Output "the lab has no machine with role hyperv-host: no host to add"
    exit 0
}

if ($AsDomainAdmin) {
    Import-Module virtualmachinemanager
    $server = Get-SCVMMServer -ComputerName localhost
    $accountName = 'nestlab domain admin'
    $account = Get-SCRunAsAccount -VMMServer $server -Name $accountName -ErrorAction SilentlyContinue
    if (-not $account) {
        Write-Output "creating the Run As account '$accountName'"
        $account = New-SCRunAsAccount -VMMServer $server -Name $accountName `
            -Credential (Get-NestlabDomainCredential) -Description "the $($NL.Domain) Administrator (nestlab)"
    }
    $group = Get-SCVMHostGroup -VMMServer $server -Name 'All Hosts'
    foreach ($machine in $hosts) {
        $fqdn = "$($machine.Name).$($NL.Domain)"
        if (Get-SCVMHost -VMMServer $server -ComputerName $fqdn -ErrorAction SilentlyContinue) {
            Write-Output "$fqdn is managed already"
            continue
        }
        Write-Output "adding Hyper-V host $fqdn"
        Add-SCVMHost -VMMServer $server -ComputerName $fqdn -VMHostGroup $group -Credential $account | Out-Null
        Write-Output "$fqdn added"
    }
    exit 0
}

$code = Invoke-NestlabAsDomainAdmin -ScriptPath $PSCommandPath -Arguments '-AsDomainAdmin' -TimeoutMinutes 55
if ($code -ne 0) {
    throw "adding the Hyper-V hosts ($(($hosts | ForEach-Object { $_.Name }) -join ', ')) failed with $code"
}
Write-Output "SCVMM on $($NL.Machine) manages $(($hosts | ForEach-Object { $_.Name }) -join ', ')"
