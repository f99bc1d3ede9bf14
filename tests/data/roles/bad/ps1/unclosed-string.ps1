# expect: string " is never closed
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
Write-Output "x
Write-Output y
