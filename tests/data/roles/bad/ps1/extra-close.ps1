# expect: '}' closes nothing
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
Write-Output "x" }
