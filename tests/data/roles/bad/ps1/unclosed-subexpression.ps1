# expect: is never closed
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
Write-Output "a $($NL.Domain b"
