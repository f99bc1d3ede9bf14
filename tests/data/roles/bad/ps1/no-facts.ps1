# expect: does not dot-source
$ErrorActionPreference = 'Stop'
Write-Output hello
