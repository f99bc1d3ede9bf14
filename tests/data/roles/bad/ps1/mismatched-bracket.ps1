# expect: ']' closes '('
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
Write-Output (1 + 2]
