# expect: does not start with $ErrorActionPreference
param([switch]$X)
Write-Output "x"
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
