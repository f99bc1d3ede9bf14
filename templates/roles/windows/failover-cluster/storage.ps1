# Failover cluster recipe, step "cluster-storage": on the first node only, the shared
# disks become the cluster's. Blank ones are initialized first (GPT, one NTFS
# volume): shared disks sit on the SCSI bus (Windows says SAS for virtio-scsi)
# and Windows keeps them offline; boot and data disks are SATA or virtio and
# are left alone. The smallest disk becomes the quorum witness, the others
# cluster shared volumes. Runs as the domain Administrator, like "cluster-create".
param([switch]$AsDomainAdmin)
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1

$nodes = Get-NestlabClusterNodes
if ($NL.Machine -ne $nodes[0]) {
    Write-Output "$($nodes[0]) sets up the cluster's storage: nothing to do on $($NL.Machine)"
    exit 0
}

if ($AsDomainAdmin) {
    $shared = @(Get-Disk | Where-Object {
        -not $_.IsBoot -and -not $_.IsSystem -and -not $_.IsClustered -and $_.BusType -in 'SAS', 'SCSI'
    })
    foreach ($disk in $shared | Where-Object { $_.PartitionStyle -eq 'RAW' }) {
        Write-Output "initializing shared disk $($disk.Number) ($([math]::Round($disk.Size / 1GB)) GiB)"
        Set-Disk -Number $disk.Number -IsOffline $false
        Set-Disk -Number $disk.Number -IsReadOnly $false
        Initialize-Disk -Number $disk.Number -PartitionStyle GPT
        New-Partition -DiskNumber $disk.Number -UseMaximumSize |
            Format-Volume -FileSystem NTFS -NewFileSystemLabel "shared$($disk.Number)" -Confirm:$false | Out-Null
        Set-Disk -Number $disk.Number -IsOffline $true
    }

    $added = @()
    foreach ($candidate in @(Get-ClusterAvailableDisk | Sort-Object -Property Size)) {
        Write-Output "adding disk $($candidate.Name) to the cluster"
        $added += $candidate | Add-ClusterDisk
    }
    $disks = @(Get-ClusterResource | Where-Object { $_.ResourceType -eq 'Physical Disk' })
    if ($disks.Count -eq 0) {
        throw ("no disk could join cluster $($NL.Cluster.Name) ($($shared.Count) shared disks seen): " +
               "Failover Clustering needs SCSI-3 persistent reservations, which QEMU gives to " +
               "passthrough LUNs (device='lun' with <reservations managed='yes'/>), not to file-backed disks")
    }

    $quorum = Get-ClusterQuorum
    if (-not $quorum.QuorumResource) {
        # The smallest new disk, else the first still in Available Storage.
        $witness = $added | Select-Object -First 1
        if (-not $witness) {
            $witness = $disks | Where-Object { $_.OwnerGroup.Name -eq 'Available Storage' } | Select-Object -First 1
        }
        if ($witness) {
            Write-Output "quorum: node and disk majority, witness $($witness.Name)"
            Set-ClusterQuorum -DiskWitness $witness.Name | Out-Null
            $quorum = Get-ClusterQuorum
        }
    }
    $witnessName = ''
    if ($quorum.QuorumResource) { $witnessName = $quorum.QuorumResource.Name }
    foreach ($disk in $disks | Where-Object { $_.OwnerGroup.Name -eq 'Available Storage' -and $_.Name -ne $witnessName }) {
        Write-Output "cluster shared volume: $($disk.Name)"
        Add-ClusterSharedVolume -Name $disk.Name | Out-Null
    }
    $volumes = @(Get-ClusterSharedVolume | ForEach-Object { $_.Name })
    Write-Output "cluster $($NL.Cluster.Name): witness '$witnessName', shared volumes: $($volumes -join ', ')"
    exit 0
}

$code = Invoke-NestlabAsDomainAdmin -ScriptPath $PSCommandPath -Arguments '-AsDomainAdmin' -TimeoutMinutes 25
if ($code -ne 0) { throw "setting up the storage of cluster $($NL.Cluster.Name) failed with $code" }
