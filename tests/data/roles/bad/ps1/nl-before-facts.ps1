# expect: uses $NL before the facts file
$ErrorActionPreference = 'Stop'
Write-Output $NL.Machine
. C:\ProgramData\nestlab\facts.ps1
