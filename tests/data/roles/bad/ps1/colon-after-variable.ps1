# expect: in a string is not a valid variable reference
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$rule = "x"
Write-Output "rule $rule: added"
