# Failover cluster recipe, step "cluster-create": on the first node only, the cluster
# of all nodes with its static address and no storage yet ("cluster-storage" adds
# it). Creating the cluster's computer object in the domain and reaching the
# other nodes needs a domain administrator, not SYSTEM: the script runs
# itself again with -AsDomainAdmin for that. Nodes missing from an existing
# cluster are added; on the other nodes the step does nothing.
param([switch]$AsDomainAdmin)
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
. C:\ProgramData\nestlab\nestlab-lib.ps1

$nodes = Get-NestlabClusterNodes
if ($NL.Machine -ne $nodes[0]) {
    Write-Output "$($nodes[0]) creates cluster $($NL.Cluster.Name): nothing to do on $($NL.Machine)"
    exit 0
}

if ($AsDomainAdmin) {
    # Get-Cluster fails, one way or another, on a node in no cluster.
    $cluster = $null
    try { $cluster = Get-Cluster -ErrorAction Stop } catch { $cluster = $null }
    if (-not $cluster) {
        Write-Output "creating cluster $($NL.Cluster.Name) ($($NL.Cluster.Address)) of $($nodes -join ', ')"
        New-Cluster -Name $NL.Cluster.Name -Node $nodes -StaticAddress $NL.Cluster.Address -NoStorage | Out-Null
    } elseif ($cluster.Name -ne $NL.Cluster.Name) {
        throw "$($NL.Machine) is in cluster $($cluster.Name), not $($NL.Cluster.Name)"
    }
    $present = @(Get-ClusterNode | ForEach-Object { $_.Name })
    foreach ($node in $nodes) {
        if ($present -notcontains $node) {
            Write-Output "adding $node to cluster $($NL.Cluster.Name)"
            Add-ClusterNode -Name $node -NoStorage | Out-Null
        }
    }
    Write-Output "cluster $($NL.Cluster.Name): $((Get-ClusterNode | ForEach-Object { "$($_.Name) $($_.State)" }) -join ', ')"
    exit 0
}

$code = Invoke-NestlabAsDomainAdmin -ScriptPath $PSCommandPath -Arguments '-AsDomainAdmin' -TimeoutMinutes 25
if ($code -ne 0) { throw "creating cluster $($NL.Cluster.Name) failed with $code" }
