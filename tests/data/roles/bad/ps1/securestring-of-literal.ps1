# expect: ConvertTo-SecureString of a literal
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$p = ConvertTo-SecureString 'Secret1!' -AsPlainText -Force
